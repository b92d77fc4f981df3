import { createHash } from 'node:crypto';
import { ByteReader } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { elfDynamicTags, elfSegments, PT_LOAD, type ElfSegment } from './elf.js';

/** A measurement stream that is not well formed: codes ERR_SGXS_FORMAT, ERR_SGXS_TRUNCATED, ERR_SGXS_UNSIZED. */
export class SgxsError extends ConfkubeError {}

/**
 * One record after ECREATE (rust-sgx doc/SGXS.md; docs/sgx.md §MRENCLAVE and .sgxs). `UNMEASRD` comes from the
 * enhanced format (ESGXS): page contents that are loaded but not measured, so they are skipped when hashing.
 */
export type SgxsRecord =
  // `at`: offset of the record in the .sgxs input; -1 for records built from an enclave file.
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
 * written anew (docs/sgx.md §MRENCLAVE and .sgxs), never copied from the input. UNMEASRD data is not hashed.
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

// ---------------------------------------------------------------------------------------------------------
// The stream an Intel SGX SDK loader issues for a signed enclave (psw/urts/loader.cpp CLoader::build_image,
// the same code sgx_sign measures with): ECREATE from metadata_t, patches applied to the file image, every
// PT_LOAD segment page by page (EADD + 16 EEXTEND), then the metadata layout table (heap, TCS, SSA, stack,
// guard, thread groups). Its MRENCLAVE must equal the ENCLAVEHASH the SIGSTRUCT carries.

const SI_FLAG_R = 1n;
const SI_FLAG_W = 2n;
const SI_FLAG_X = 4n;
const SI_FLAG_REG = 0x200n;
const SI_FLAGS_TCS = 0x100n;
const PAGE_ATTR_EADD = 1;
const PAGE_ATTR_EEXTEND = 2;
const ADD_EXTEND_PAGE = PAGE_ATTR_EADD | PAGE_ATTR_EEXTEND;
const GROUP_FLAG = 0x1000;
const DT_TEXTREL = 22n;
const META_CSS = 64;
const META_DIRS = META_CSS + 1808;
const PAGE_N = 4096;

/**
 * Build the measurement records of an SDK signed enclave whose metadata_t starts at `metadataOffset`.
 * Unsupported layouts (text relocations, ELRANGE) are typed errors rather than a wrong MRENCLAVE.
 */
export function sdkEnclaveStream(file: Uint8Array, metadataOffset: number): SgxsStream {
  const fail = (msg: string): never => {
    throw new SgxsError('ERR_SDK_LAYOUT', `SDK enclave metadata at offset ${metadataOffset}: ${msg}`);
  };
  const m = new ByteReader(file, 'ERR_SDK_TRUNCATED', 'metadata_t', metadataOffset);
  m.skip(8, 'magic');
  const version = m.u64('version');
  const metaSize = m.u32('size');
  m.skip(4, 'tcs_policy');
  const ssaFrameSize = m.u32('ssa_frame_size');
  m.skip(12, 'max_save_buffer_size, desired_misc_select, tcs_min_pool');
  const enclaveSize = m.u64('enclave_size');
  if (metadataOffset + metaSize > file.length || metaSize < META_DIRS + 16) fail(`size ${metaSize} does not fit the file`);
  const meta = file.subarray(metadataOffset, metadataOffset + metaSize);
  const mv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const dir = (i: number) => ({ offset: mv.getUint32(META_DIRS + i * 8, true), size: mv.getUint32(META_DIRS + i * 8 + 4, true) });
  const inMeta = (off: number, len: number, what: string) => {
    if (off < META_DIRS || off + len > metaSize) fail(`${what} (offset ${off}, ${len} bytes) lies outside the metadata`);
  };
  const segments = elfSegments(file);
  // Pages with text relocations are added writable (CLoader::build_mem_region): not reproduced here.
  if (elfDynamicTags(file, segments).has(DT_TEXTREL)) fail('the enclave has text relocations (DT_TEXTREL); measuring them is not supported');
  // Metadata 2.x adds an ELRANGE directory; an enclave image placed inside a larger ELRANGE shifts every offset.
  if (version >> 32n >= 2n && mv.getUint32(META_DIRS + 2 * 8 + 4, true) !== 0) fail('ELRANGE enclaves are not supported');
  if (enclaveSize < 2n * PAGE || (enclaveSize & (enclaveSize - 1n)) !== 0n) fail(`enclave_size 0x${enclaveSize.toString(16)} is not a power of two`);

  const image = file.slice();
  const patches = dir(0);
  inMeta(patches.offset, patches.size, 'patch table');
  for (let p = patches.offset; p + 32 <= patches.offset + patches.size; p += 32) {
    const dst = Number(mv.getBigUint64(p, true));
    const src = mv.getUint32(p + 8, true);
    const size = mv.getUint32(p + 12, true);
    inMeta(src, size, 'patch source');
    if (dst + size > image.length) fail(`patch destination ${dst} (+${size}) lies outside the file`);
    image.set(meta.subarray(src, src + size), dst);
  }

  const records: SgxsRecord[] = [];
  const maxPages = Number(enclaveSize / PAGE);
  let pageCount = 0;
  const zero = new Uint8Array(PAGE_N);
  const addPage = (rva: bigint, data: Uint8Array, flags: bigint, attr: number) => {
    if (!(attr & PAGE_ATTR_EADD)) return;
    if (rva % PAGE !== 0n || rva >= enclaveSize) fail(`page 0x${rva.toString(16)} is not a page inside the 0x${enclaveSize.toString(16)}-byte enclave`);
    if (++pageCount > maxPages) fail(`more pages than the ${maxPages}-page enclave holds`);
    records.push({ op: 'EADD', at: -1, offset: rva, secinfoFlags: flags });
    if (attr & PAGE_ATTR_EEXTEND) {
      for (let c = 0; c < 16; c++) records.push({ op: 'EEXTEND', at: -1, offset: rva + BigInt(c * 256), data: data.subarray(c * 256, c * 256 + 256) });
    }
  };
  const buildPages = (rva: bigint, pages: number, data: Uint8Array | null, flags: bigint, attr: number) => {
    for (let i = 0; i < pages; i++) addPage(rva + BigInt(i) * PAGE, data ?? zero, flags, attr);
  };
  // CLoader::build_mem_region: initialised data page by page (a partial first or last page is zero-padded),
  // then the uninitialised rest as zero pages.
  const memRegion = (raw: Uint8Array, rva: bigint, virtualSize: bigint, flags: bigint) => {
    let offset = 0;
    while (offset < raw.length) {
      const at = rva + BigInt(offset);
      const inPage = Number(at % PAGE);
      const size = Math.min(PAGE_N - inPage, raw.length - offset);
      if (size === PAGE_N) addPage(at, raw.subarray(offset, offset + PAGE_N), flags, ADD_EXTEND_PAGE);
      else {
        const page = new Uint8Array(PAGE_N);
        page.set(raw.subarray(offset, offset + size), inPage);
        addPage(at - BigInt(inPage), page, flags, ADD_EXTEND_PAGE);
      }
      offset += PAGE_N - inPage;
    }
    if (virtualSize > BigInt(offset)) {
      const rest = virtualSize - BigInt(offset);
      const start = rva + BigInt(offset);
      if (start % PAGE !== 0n) fail(`segment at 0x${rva.toString(16)} has uninitialised data that does not start on a page`);
      const pages = (rest + PAGE - 1n) / PAGE;
      if (pages > BigInt(maxPages)) fail(`segment at 0x${rva.toString(16)} is larger than the enclave`);
      buildPages(start, Number(pages), null, flags, ADD_EXTEND_PAGE);
    }
  };

  // Metadata 1.3 (SDK 1.5) also added one zero page after a segment whose end spills past its rounded size.
  const v13 = version === 0x1_0000_0003n;
  const roundPage = (v: bigint) => (v + PAGE - 1n) & ~(PAGE - 1n);
  const spills = (s: ElfSegment) => roundPage(s.memSize + s.vaddr) < roundPage(roundPage(s.memSize) + s.vaddr);
  let last: ElfSegment | undefined;
  let maxRva = 0n;
  for (const s of segments.filter((x) => x.type === PT_LOAD)) {
    const flags = siFlags(s);
    if (flags === SI_FLAG_REG) fail(`PT_LOAD segment at 0x${s.vaddr.toString(16)} has no permissions`);
    if (v13 && last && spills(last) && roundPage(last.vaddr + last.memSize) < (s.vaddr & ~(PAGE - 1n))) {
      buildPages(roundPage(last.vaddr + last.memSize), 1, null, siFlags(last), ADD_EXTEND_PAGE);
    }
    if (s.vaddr > maxRva) {
      maxRva = s.vaddr;
      last = s;
    }
    memRegion(image.subarray(s.offset, s.offset + s.fileSize), s.vaddr, s.memSize, flags);
  }
  if (v13 && last && spills(last)) buildPages(roundPage(last.vaddr + last.memSize), 1, null, siFlags(last), ADD_EXTEND_PAGE);

  // CLoader::build_contexts / build_context over the layout table; a group repeats the entry_count entries
  // before it load_times times, each time load_step further.
  const layout = dir(1);
  inMeta(layout.offset, layout.size, 'layout table');
  const entries = Math.floor(layout.size / 32);
  // A group may repeat entries that add nothing (guard pages), so bound the entries visited, not only the
  // pages added: a crafted load_times of 2^32 must not spin.
  let visits = 0;
  const maxVisits = entries + 4 * maxPages;
  const context = (from: number, to: number, delta: bigint, depth: number) => {
    if (depth > 8) fail('layout groups nest too deeply');
    for (let i = from; i < to; i++) {
      if (++visits > maxVisits) fail(`layout groups repeat entries more often than a ${maxPages}-page enclave allows`);
      const e = layout.offset + i * 32;
      const id = mv.getUint16(e, true);
      if (id & GROUP_FLAG) {
        const count = mv.getUint16(e + 2, true);
        const times = mv.getUint32(e + 4, true);
        const step = mv.getBigUint64(e + 8, true);
        if (count > i) fail(`layout group ${i} repeats ${count} entries but only ${i} precede it`);
        // A group of no entries adds nothing however often it repeats (and must not spin 2^32 times doing so).
        if (count === 0) continue;
        let d = 0n;
        for (let j = 0; j < times; j++) {
          if (++visits > maxVisits) fail(`layout groups repeat entries more often than a ${maxPages}-page enclave allows`);
          d += step;
          context(i - count, i, d, depth + 1);
        }
        continue;
      }
      const attr = mv.getUint16(e + 2, true);
      const pages = mv.getUint32(e + 4, true);
      const rva = delta + mv.getBigUint64(e + 8, true);
      const contentSize = mv.getUint32(e + 16, true);
      const contentOffset = mv.getUint32(e + 20, true);
      const flags = mv.getBigUint64(e + 24, true);
      if (!(attr & PAGE_ATTR_EADD)) continue;
      if (pages > maxPages) fail(`layout entry ${i} has ${pages} pages`);
      if (contentOffset) {
        if (flags === SI_FLAGS_TCS) {
          inMeta(contentOffset, Math.min(contentSize, PAGE_N), `TCS template of layout entry ${i}`);
          const tcs = new Uint8Array(PAGE_N);
          tcs.set(meta.subarray(contentOffset, contentOffset + Math.min(contentSize, PAGE_N)));
          // The template's OSSA, OFSBASGX and OGSBASGX are relative to the TCS page (SDK arch.h tcs_t).
          const tv = new DataView(tcs.buffer);
          for (const o of [16, 48, 56]) tv.setBigUint64(o, BigInt.asUintN(64, tv.getBigUint64(o, true) + rva), true);
          buildPages(rva, pages, tcs, flags, attr);
        } else {
          inMeta(contentOffset, contentSize, `content of layout entry ${i}`);
          memRegion(meta.subarray(contentOffset, contentOffset + contentSize), rva, BigInt(pages) * PAGE, flags);
        }
      } else if (flags !== 0n) {
        let data: Uint8Array | null = null;
        if (contentSize) {
          // content_size without content_offset is a 32-bit fill pattern (0xcccccccc for stacks).
          data = new Uint8Array(PAGE_N);
          new DataView(data.buffer).setUint32(0, contentSize, true);
          for (let k = 4; k < PAGE_N; k *= 2) data.copyWithin(k, 0, k);
        }
        buildPages(rva, pages, data, flags, attr);
      }
    }
  };
  context(0, entries, 0n, 0);
  return { ssaFrameSize, size: enclaveSize, records, canonical: true };
}

/** SECINFO.FLAGS of a PT_LOAD segment: REG plus its R/W/X (elfparser.cpp page_attr_to_si_flags). */
function siFlags(s: ElfSegment): bigint {
  return SI_FLAG_REG | (s.flags & 4 ? SI_FLAG_R : 0n) | (s.flags & 2 ? SI_FLAG_W : 0n) | (s.flags & 1 ? SI_FLAG_X : 0n);
}

/** MRENCLAVE of an SDK signed enclave as its loader would build it from the metadata_t at `metadataOffset`. */
export function measureSdkEnclave(file: Uint8Array, metadataOffset: number): Uint8Array {
  return mrEnclaveOf(sdkEnclaveStream(file, metadataOffset));
}
