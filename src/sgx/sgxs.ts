import { createHash } from 'node:crypto';
import { ByteReader } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';

/** A measurement stream that is not well formed: codes ERR_SGXS_FORMAT, ERR_SGXS_TRUNCATED, ERR_SGXS_UNSIZED. */
export class SgxsError extends ConfkubeError {}

/**
 * One record after ECREATE (rust-sgx doc/SGXS.md; spec sigstruct-epc.md §1.4). `UNMEASRD` comes from the
 * enhanced format (ESGXS): page contents that are loaded but not measured, so they are skipped when hashing.
 */
export type SgxsRecord =
  | { op: 'EADD'; at: number; offset: bigint; secinfoFlags: bigint }
  | { op: 'EEXTEND'; at: number; offset: bigint; data: Uint8Array }
  | { op: 'UNMEASRD'; at: number; offset: bigint; data: Uint8Array };

export interface SgxsStream {
  /** SECS.SSAFRAMESIZE in pages. */
  ssaFrameSize: number;
  /** SECS.SIZE: the enclave (ELRANGE) size, a power of two. */
  size: bigint;
  records: SgxsRecord[];
  /** Canonical in the sense of rust-sgx doc/SGXS.md (pages in ascending order, no chunk twice in a run). */
  canonical: boolean;
}

export interface SgxsMeasurement {
  mrEnclave: Uint8Array;
  pages: number;
  size: bigint;
  ssaFrameSize: number;
  measuredChunks: number;
  canonical: boolean;
}

const PAGE = 4096n;
const CHUNK = 256n;
const BLOCK = 64;
const BATCH = 64 * 1024;

const tag = (s: string) => Uint8Array.from(Buffer.from(s.padEnd(8, '\0'), 'latin1'));
const ECREATE = tag('ECREATE');
const EADD = tag('EADD');
const EEXTEND = tag('EEXTEND');
// ESGXS tags are exactly eight letters, no NUL (rust-sgx doc/SGXS.md "Enhanced SGX stream format").
const UNMEASRD = tag('UNMEASRD');
const UNSIZED = tag('UNSIZED');

// SECINFO.FLAGS (SDM Vol. 3D §37.11): R W X PENDING MODIFIED PR in bits 0..5, page type in bits 8..15;
// bits 6..7 and 16..63 are reserved. EADD accepts only these page types (SDM EADD "Operation").
const PT_TCS = 1n;
const PT_REG = 2n;
const PT_SS_FIRST = 5n;
const PT_SS_REST = 6n;
const EADD_PAGE_TYPES = new Set([PT_TCS, PT_REG, PT_SS_FIRST, PT_SS_REST]);
const SECINFO_RESERVED = 0xffff_ffff_ffff_00c0n;

function tagIs(b: Uint8Array, t: Uint8Array): boolean {
  for (let i = 0; i < 8; i++) if (b[i] !== t[i]) return false;
  return true;
}

function zeroFrom(b: Uint8Array, from: number, what: string, at: number): void {
  for (let i = from; i < BLOCK; i++) {
    if (b[i] !== 0) throw new SgxsError('ERR_SGXS_FORMAT', `${what} at offset ${at}: reserved byte ${i} is 0x${b[i].toString(16)}, must be zero`);
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/**
 * Parse a measurement stream: ECREATE first and once; EADD at a page offset inside the enclave, not twice,
 * with a SECINFO that EADD accepts; EEXTEND at a 256-byte chunk of a page added before it, followed by its
 * 256 data bytes; reserved bytes zero. Anything else is a typed error that names the offset.
 */
export function parseSgxs(stream: Uint8Array): SgxsStream {
  const r = new ByteReader(stream, 'ERR_SGXS_TRUNCATED', '.sgxs stream');
  if (stream.length === 0) throw new SgxsError('ERR_SGXS_FORMAT', '.sgxs stream is empty: it must start with ECREATE');
  const first = r.bytes(BLOCK, 'ECREATE block');
  if (tagIs(first, UNSIZED)) {
    throw new SgxsError('ERR_SGXS_UNSIZED', '.sgxs stream starts with UNSIZED (enhanced SGXS whose enclave size is not fixed yet): it cannot be measured');
  }
  if (!tagIs(first, ECREATE)) throw new SgxsError('ERR_SGXS_FORMAT', '.sgxs stream does not start with an ECREATE block at offset 0');
  const dv = new DataView(first.buffer, first.byteOffset, BLOCK);
  const ssaFrameSize = dv.getUint32(8, true);
  const size = dv.getBigUint64(12, true);
  // ECREATE faults unless SIZE is a power of two of at least two pages (SDM ECREATE; SDK simulation _ECREATE).
  if (size < 2n * PAGE || (size & (size - 1n)) !== 0n) throw new SgxsError('ERR_SGXS_FORMAT', `ECREATE size ${hex(size)} at offset 12 is not a power of two of at least two pages`);
  if (ssaFrameSize === 0) throw new SgxsError('ERR_SGXS_FORMAT', 'ECREATE SSA frame size at offset 8 is 0');
  zeroFrom(first, 20, 'ECREATE', 0);

  const records: SgxsRecord[] = [];
  const added = new Set<bigint>();
  let canonical = true;
  let lastPage = -1n;
  let runPage = -1n;
  let runChunks = new Set<bigint>();
  while (r.remaining > 0) {
    const at = r.pos;
    const blk = r.bytes(BLOCK, 'measurement block');
    const offset = r.view.getBigUint64(at + 8, true);
    if (tagIs(blk, EADD)) {
      const flags = r.view.getBigUint64(at + 16, true);
      if (offset % PAGE !== 0n || offset >= size) throw new SgxsError('ERR_SGXS_FORMAT', `EADD at offset ${at}: page offset ${hex(offset)} is not a page inside the ${hex(size)}-byte enclave`);
      if (added.has(offset)) throw new SgxsError('ERR_SGXS_FORMAT', `EADD at offset ${at}: page ${hex(offset)} added twice`);
      checkSecinfo(flags, at);
      zeroFrom(blk, 24, 'EADD SECINFO', at);
      added.add(offset);
      if (offset <= lastPage) canonical = false;
      lastPage = offset;
      runPage = offset;
      runChunks = new Set();
      records.push({ op: 'EADD', at, offset, secinfoFlags: flags });
    } else if (tagIs(blk, EEXTEND) || tagIs(blk, UNMEASRD)) {
      const op = tagIs(blk, EEXTEND) ? 'EEXTEND' : 'UNMEASRD';
      const page = offset - (offset % PAGE);
      if (offset % CHUNK !== 0n || !added.has(page)) {
        throw new SgxsError('ERR_SGXS_FORMAT', `${op} at offset ${at}: chunk ${hex(offset)} is not 256-aligned inside a page added before it`);
      }
      zeroFrom(blk, 16, op, at);
      const data = r.bytes(Number(CHUNK), `${op} data`);
      if (page !== runPage || runChunks.has(offset)) canonical = false;
      runChunks.add(offset);
      records.push({ op, at, offset, data });
    } else if (tagIs(blk, ECREATE)) {
      throw new SgxsError('ERR_SGXS_FORMAT', `second ECREATE at offset ${at}`);
    } else {
      throw new SgxsError('ERR_SGXS_FORMAT', `unknown measurement block at offset ${at} (expected EADD, EEXTEND or UNMEASRD)`);
    }
  }
  return { ssaFrameSize, size, records, canonical };
}

function checkSecinfo(flags: bigint, at: number): void {
  const pt = (flags >> 8n) & 0xffn;
  const where = `EADD at offset ${at}: SECINFO.FLAGS ${hex(flags)}`;
  if ((flags & SECINFO_RESERVED) !== 0n) throw new SgxsError('ERR_SGXS_FORMAT', `${where} has reserved bits set`);
  if (!EADD_PAGE_TYPES.has(pt)) throw new SgxsError('ERR_SGXS_FORMAT', `${where}: page type ${pt} cannot be added with EADD (TCS, REG or shadow stack only)`);
  if (pt === PT_TCS && (flags & 7n) !== 0n) throw new SgxsError('ERR_SGXS_FORMAT', `${where}: a TCS page must have R, W and X clear`);
  if ((flags & 3n) === 2n) throw new SgxsError('ERR_SGXS_FORMAT', `${where}: a writable page must be readable`);
}

/**
 * MRENCLAVE recomputed from the parsed fields, the way EINIT finalises the hash the CPU built: each block is
 * written anew (spec sigstruct-epc.md §1.4), never copied from the input. UNMEASRD data is not hashed.
 * Blocks are batched so the hash sees large updates (one update per 320-byte EEXTEND costs more than the hashing).
 */
export function mrEnclaveOf(s: Pick<SgxsStream, 'ssaFrameSize' | 'size' | 'records'>): Uint8Array {
  const h = createHash('sha256');
  const batch = Buffer.alloc(BATCH);
  let n = 0;
  const block = (t: Uint8Array): number => {
    if (n + BLOCK + Number(CHUNK) > BATCH) {
      h.update(batch.subarray(0, n));
      n = 0;
    }
    batch.fill(0, n, n + BLOCK);
    batch.set(t, n);
    const at = n;
    n += BLOCK;
    return at;
  };
  let at = block(ECREATE);
  batch.writeUInt32LE(s.ssaFrameSize, at + 8);
  batch.writeBigUInt64LE(s.size, at + 12);
  for (const rec of s.records) {
    if (rec.op === 'UNMEASRD') continue;
    if (rec.op === 'EADD') {
      at = block(EADD);
      batch.writeBigUInt64LE(rec.offset, at + 8);
      batch.writeBigUInt64LE(rec.secinfoFlags, at + 16);
    } else {
      if (rec.data.length !== Number(CHUNK)) throw new SgxsError('ERR_SGXS_FORMAT', `EEXTEND record for chunk ${hex(rec.offset)} has ${rec.data.length} data bytes, not 256`);
      at = block(EEXTEND);
      batch.writeBigUInt64LE(rec.offset, at + 8);
      batch.set(rec.data, n);
      n += rec.data.length;
    }
  }
  h.update(batch.subarray(0, n));
  return new Uint8Array(h.digest());
}

/** Parse and validate a `.sgxs` stream, then recompute MRENCLAVE from its fields. */
export function measureSgxs(stream: Uint8Array): SgxsMeasurement {
  const s = parseSgxs(stream);
  let pages = 0;
  let measuredChunks = 0;
  for (const rec of s.records) {
    if (rec.op === 'EADD') pages++;
    else if (rec.op === 'EEXTEND') measuredChunks++;
  }
  return { mrEnclave: mrEnclaveOf(s), pages, size: s.size, ssaFrameSize: s.ssaFrameSize, measuredChunks, canonical: s.canonical };
}
