import { ConfkubeError } from './errors.js';

/** Raised by ByteReader when a structure is shorter than its layout says. */
export class TruncatedError extends ConfkubeError {
  constructor(code: string, what: string, offset: number, need: number, have: number) {
    super(code, `${what} truncated at offset ${offset}: need ${need} bytes, have ${have}`, { offset, need, have });
  }
}

/**
 * One bounds-checked reader over a Uint8Array. Reads never copy: `bytes()` returns a subarray view.
 * `code` and `what` name the structure so a short read says what was being read and where.
 */
export class ByteReader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  pos: number;
  readonly end: number;
  private readonly code: string;
  private readonly what: string;

  constructor(buf: Uint8Array, code: string, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
    this.code = code;
    this.what = what;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new TruncatedError(this.code, `${this.what} (${field})`, this.pos, n, Math.max(0, this.end - this.pos));
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of a byte array. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s;
}

/** Bytes of a hex string (upper or lower case); throws ConfkubeError on odd length or a non-hex digit. */
export function fromHex(s: string, what = 'hex string'): Uint8Array {
  const t = s.trim();
  if (t.length % 2 !== 0) throw new ConfkubeError('ERR_BAD_HEX', `${what}: odd number of hex digits (${t.length})`);
  if (!/^[0-9a-fA-F]*$/.test(t)) {
    const at = t.search(/[^0-9a-fA-F]/);
    throw new ConfkubeError('ERR_BAD_HEX', `${what}: not a hex digit at position ${at}`);
  }
  return Uint8Array.from(Buffer.from(t, 'hex'));
}

/** Little-endian u16 at an offset (caller has bounds-checked). */
export function readU16LE(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

/** Little-endian u32 at an offset (caller has bounds-checked). */
export function readU32LE(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16)) + b[off + 3] * 0x1000000;
}

export function isAllZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Decode a file's text or bytes that may be raw binary, hex, base64 or base64url. */
export function decodeBinaryInput(input: Uint8Array): Uint8Array {
  const text = Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1').trim();
  if (text.length > 0 && /^[0-9a-fA-F\s]+$/.test(text)) {
    const compact = text.replace(/\s+/g, '');
    if (compact.length % 2 === 0) return Uint8Array.from(Buffer.from(compact, 'hex'));
  }
  if (text.length > 0 && /^[A-Za-z0-9+/_\-\s]+=*\s*$/.test(text)) {
    const compact = text.replace(/\s+/g, '');
    return Uint8Array.from(Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  }
  return input;
}
