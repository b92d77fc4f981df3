import { ByteReader, isAllZero, readU32LE } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { elfSections, isElf, type ElfSection } from './elf.js';
import { parseSigstruct, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2, SIGSTRUCT_SIZE, type Sigstruct } from './sigstruct.js';

export interface FoundSigstruct {
  /** `sigstruct`: a raw 1808-byte SIGSTRUCT (Gramine `.sig`, SDK `css.bin`); `sgx-sdk`: `.note.sgxmeta`; `openenclave`: `.oeinfo`. */
  source: 'sigstruct' | 'sgx-sdk' | 'openenclave';
  /** File offset of the SIGSTRUCT. */
  offset: number;
  sigstruct: Sigstruct;
  /** SGX SDK metadata version, "major.minor". */
  metadataVersion?: string;
}

/** Codes ERR_ENCLAVE_FORMAT, ERR_ENCLAVE_TRUNCATED, ERR_ENCLAVE_UNSIGNED. */
export class EnclaveFileError extends ConfkubeError {}

/** `metadata_t` magic (SDK common/inc/internal/metadata.h). */
const METADATA_MAGIC = 0x86a80294635d0e4cn;
/** metadata_t: magic, version, size, … 64 bytes of header, then enclave_css_t (docs/sgx.md §Enclave files). */
const METADATA_CSS_OFFSET = 64;
const SGX_NOTE_NAME = 'sgx_metadata';
/** oe_sgx_enclave_properties_t ends with this u64 so that a zero SIGSTRUCT is not dropped (sgxproperties.h). */
const OE_END_MARKER = 0xececececececececn;
/** header (32) is the smallest thing in front of the SIGSTRUCT in any OE release. */
const OE_MIN_PROPERTIES = 32 + SIGSTRUCT_SIZE + 8;
/** Where the SIGSTRUCT sits in oe_sgx_enclave_properties_t: OE HEAD, then older releases (docs/sgx.md §Enclave files). */
const OE_SIGSTRUCT_OFFSETS = [144, 96, 48];

/**
 * Every SIGSTRUCT in a file: a raw SIGSTRUCT, an Intel SGX SDK signed enclave (one or several metadata
 * blocks in `.note.sgxmeta`), or an Open Enclave / EGo enclave (`.oeinfo`). Typed error when there is none.
 */
export function findSigstructs(file: Uint8Array): FoundSigstruct[] {
  if (!isElf(file)) {
    if (file.length === SIGSTRUCT_SIZE) return [{ source: 'sigstruct', offset: 0, sigstruct: parseSigstruct(file, 0) }];
    // A Windows SDK enclave (.signed.dll) keeps the same metadata_t blocks in a PE section.
    const scanned = scanSdkMetadata(file);
    if (scanned.length > 0) return scanned;
    throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `not an ELF enclave, not a raw SIGSTRUCT (${file.length} bytes; a SIGSTRUCT has ${SIGSTRUCT_SIZE}) and no SGX SDK metadata inside`);
  }
  const sections = elfSections(file);
  const meta = sections.find((s) => s.name === '.note.sgxmeta');
  if (meta) return sdkMetadata(file, meta);
  // Early Open Enclave releases left `.oeinfo` unsigned and wrote the signed copy to `.oesign`.
  const oe = ['.oesign', '.oeinfo'].map((n) => sections.find((s) => s.name === n)).filter((s): s is ElfSection => s !== undefined);
  if (oe.length > 0) return [openEnclave(file, oe)];
  const scanned = scanSdkMetadata(file);
  if (scanned.length > 0) return scanned;
  throw new EnclaveFileError('ERR_ENCLAVE_UNSIGNED', 'ELF file has neither .note.sgxmeta (Intel SGX SDK) nor .oeinfo (Open Enclave / EGo): not a signed SGX enclave');
}

/**
 * `.note.sgxmeta`: one ELF note named "sgx_metadata" (namesz 13). The SDK writes the descriptor right after
 * the 13-byte name with no 4-byte padding and its own loader reads it there (psw/urts/parser/elfparser.cpp;
 * docs/sgx.md §Enclave files); a note padded the gABI way is accepted too. The descriptor holds metadata_t blocks back to
 * back, each `size` bytes, SIGSTRUCT at +64; zero fill follows the last block.
 */
function sdkMetadata(file: Uint8Array, sec: ElfSection): FoundSigstruct[] {
  const end = sec.offset + sec.size;
  const r = new ByteReader(file, 'ERR_ENCLAVE_TRUNCATED', '.note.sgxmeta', sec.offset, end);
  const namesz = r.u32('note namesz');
  const descsz = r.u32('note descsz');
  r.u32('note type');
  const name = Buffer.from(r.bytes(namesz, 'note name')).toString('latin1').replace(/\0+$/, '');
  if (name !== SGX_NOTE_NAME) throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `.note.sgxmeta at offset ${sec.offset}: note name is ${JSON.stringify(name)}, expected "${SGX_NOTE_NAME}"`);
  const unpadded = r.pos;
  const padded = sec.offset + 12 + ((namesz + 3) & ~3);
  const descStart = [unpadded, padded].find((p) => p + 8 <= end && readU64(file, p) === METADATA_MAGIC);
  if (descStart === undefined) {
    throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `.note.sgxmeta at offset ${sec.offset} holds no metadata block (magic 0x86a80294635d0e4c at offset ${unpadded} or ${padded})`);
  }
  const descEnd = descStart + descsz;
  if (descEnd > end) throw new EnclaveFileError('ERR_ENCLAVE_TRUNCATED', `.note.sgxmeta descriptor at offset ${descStart} (${descsz} bytes) runs past the section end at ${end}`);
  const out: FoundSigstruct[] = [];
  let p = descStart;
  while (p + 8 <= descEnd && readU64(file, p) === METADATA_MAGIC) {
    const m = new ByteReader(file, 'ERR_ENCLAVE_TRUNCATED', `metadata_t at offset ${p}`, p + 8, descEnd);
    const version = m.u64('version');
    const blockSize = m.u32('size');
    if (blockSize < METADATA_CSS_OFFSET + SIGSTRUCT_SIZE || p + blockSize > descEnd) {
      throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `metadata_t at offset ${p} has size ${blockSize}, which does not hold a SIGSTRUCT inside the ${descsz}-byte descriptor`);
    }
    out.push({
      source: 'sgx-sdk',
      offset: p + METADATA_CSS_OFFSET,
      sigstruct: parseSigstruct(file, p + METADATA_CSS_OFFSET),
      metadataVersion: `${version >> 32n}.${version & 0xffffffffn}`,
    });
    p += blockSize;
  }
  return out;
}

const METADATA_MAGIC_BYTES = Buffer.from('4c0e5d639402a886', 'hex');

/**
 * Metadata blocks found by their magic rather than by section: for SDK enclaves in other containers (PE) or
 * with renamed sections. A hit counts only when a whole metadata_t with SIGSTRUCT headers at +64 is there;
 * the blocks that follow it back to back are read too.
 */
function scanSdkMetadata(file: Uint8Array): FoundSigstruct[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const minBlock = METADATA_CSS_OFFSET + SIGSTRUCT_SIZE;
  for (let hit = buf.indexOf(METADATA_MAGIC_BYTES); hit >= 0; hit = buf.indexOf(METADATA_MAGIC_BYTES, hit + 1)) {
    const out: FoundSigstruct[] = [];
    let p = hit;
    while (p + minBlock <= file.length && readU64(file, p) === METADATA_MAGIC) {
      const size = readU32LE(file, p + 16);
      const css = p + METADATA_CSS_OFFSET;
      if (size < minBlock || p + size > file.length || !startsWith(file, css, SIGSTRUCT_HEADER) || !startsWith(file, css + 24, SIGSTRUCT_HEADER2)) break;
      const version = readU64(file, p + 8);
      out.push({ source: 'sgx-sdk', offset: css, sigstruct: parseSigstruct(file, css), metadataVersion: `${version >> 32n}.${version & 0xffffffffn}` });
      p += size;
    }
    if (out.length > 0) return out;
  }
  return [];
}

/**
 * `.oeinfo` holds oe_sgx_enclave_properties_t: header.size (u32 at 0) is the size of the whole struct,
 * which ends with SIGSTRUCT ‖ end marker, so the SIGSTRUCT sits at size − 1816 in every release (144 at OE
 * HEAD, 96 or 48 in older ones; docs/sgx.md §Enclave files, include/openenclave/bits/sgx/sgxproperties.h). When the size or
 * end marker does not fit, fall back to scanning 8-byte-aligned offsets for the fixed SIGSTRUCT headers.
 * An all-zero SIGSTRUCT means the enclave has not been signed (oesign / ego sign not run).
 */
function openEnclave(file: Uint8Array, candidates: ElfSection[]): FoundSigstruct {
  let unsigned: string | undefined;
  for (const sec of candidates) {
    const at = oeSigstructOffset(file, sec);
    if (at === undefined) continue;
    const region = file.subarray(at, at + SIGSTRUCT_SIZE);
    if (isAllZero(region)) {
      unsigned ??= `${sec.name} SIGSTRUCT at offset ${at} is all zero: the enclave is not signed (run oesign or ego sign)`;
      continue;
    }
    return { source: 'openenclave', offset: at, sigstruct: parseSigstruct(file, at) };
  }
  if (unsigned) throw new EnclaveFileError('ERR_ENCLAVE_UNSIGNED', unsigned);
  const sec = candidates[candidates.length - 1];
  throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `${sec.name} at offset ${sec.offset} (${sec.size} bytes) holds no oe_sgx_enclave_properties_t with a SIGSTRUCT`);
}

function oeSigstructOffset(file: Uint8Array, sec: ElfSection): number | undefined {
  if (sec.size >= 4) {
    const size = readU32LE(file, sec.offset);
    if (size >= OE_MIN_PROPERTIES && size <= sec.size && readU64(file, sec.offset + size - 8) === OE_END_MARKER) {
      return sec.offset + size - 8 - SIGSTRUCT_SIZE;
    }
  }
  for (let rel = 0; rel + SIGSTRUCT_SIZE <= sec.size; rel += 8) {
    const at = sec.offset + rel;
    if (startsWith(file, at, SIGSTRUCT_HEADER) && startsWith(file, at + 24, SIGSTRUCT_HEADER2)) return at;
  }
  // No header anywhere: report the SIGSTRUCT slot of a known release if it is there, zero (unsigned).
  const slot = OE_SIGSTRUCT_OFFSETS.find((rel) => rel + SIGSTRUCT_SIZE <= sec.size);
  return slot === undefined ? undefined : sec.offset + slot;
}

function startsWith(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
  return true;
}

/** u64 LE; the caller has checked that 8 bytes are there. */
function readU64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]);
  return v;
}
