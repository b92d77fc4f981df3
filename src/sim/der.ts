/**
 * A minimal DER encoder: the simulated platform writes every certificate and CRL byte itself, so the
 * output is exactly reproducible from a seed (ITU-T X.690 §10, definite lengths, minimal encodings).
 */

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function length(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with the given tag byte and content. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), length(body.length), body]);
}

export const seq = (...items: Uint8Array[]): Uint8Array => tlv(0x30, ...items);
export const set = (...items: Uint8Array[]): Uint8Array => tlv(0x31, ...items);
export const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const bool = (v: boolean): Uint8Array => tlv(0x01, Uint8Array.of(v ? 0xff : 0x00));
export const nul = (): Uint8Array => Uint8Array.of(0x05, 0x00);
export const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));
export const printable = (s: string): Uint8Array => tlv(0x13, new TextEncoder().encode(s));
export const ia5 = (s: string): Uint8Array => tlv(0x16, new TextEncoder().encode(s));
/** Context-specific constructed [n] (EXPLICIT tagging). */
export const explicit = (n: number, ...inner: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...inner);
/** Context-specific primitive [n] (IMPLICIT tagging of a primitive value). */
export const implicitPrim = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** Two's-complement minimal INTEGER content of a non-negative value given as big-endian bytes. */
function unsignedContent(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const t = b.subarray(i);
  return t.length > 0 && t[0] & 0x80 ? concat([Uint8Array.of(0), t]) : t.length === 0 ? Uint8Array.of(0) : t;
}

function bigBytes(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError('DER: negative integers are not used here');
  const hex = v.toString(16);
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
}

/** INTEGER of a non-negative number, bigint or big-endian magnitude. */
export function int(v: number | bigint | Uint8Array): Uint8Array {
  const mag = v instanceof Uint8Array ? v : bigBytes(BigInt(v));
  return tlv(0x02, unsignedContent(mag));
}

export function enumerated(v: number): Uint8Array {
  return tlv(0x0a, unsignedContent(bigBytes(BigInt(v))));
}

/** BIT STRING with no unused bits. */
export function bitString(b: Uint8Array): Uint8Array {
  return tlv(0x03, Uint8Array.of(0), b);
}

/** BIT STRING of named bits (bit 0 first), trailing zero bits removed (X.690 §11.2.2). */
export function namedBits(bits: readonly number[]): Uint8Array {
  const max = Math.max(...bits);
  const nBytes = Math.floor(max / 8) + 1;
  const out = new Uint8Array(nBytes);
  for (const b of bits) out[b >> 3] |= 0x80 >> (b & 7);
  const unused = 7 - (max & 7);
  return tlv(0x03, Uint8Array.of(unused), out);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const push = (v: bigint) => {
    const chunk: number[] = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Uint8Array.from(out));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. Whole seconds, Zulu. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19);
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, new TextEncoder().encode(`${digits.slice(2)}Z`));
  return tlv(0x18, new TextEncoder().encode(`${digits}Z`));
}

/** ECDSA-Sig-Value (RFC 3279 §2.2.3) of a raw r‖s signature. */
export function ecdsaSigDer(rs: Uint8Array): Uint8Array {
  return seq(int(rs.subarray(0, 32)), int(rs.subarray(32, 64)));
}

export { concat };
