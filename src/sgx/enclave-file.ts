import { ByteReader, isAllZero } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { elfSections, isElf } from './elf.js';
import { parseSigstruct, SIGSTRUCT_HEADER, SIGSTRUCT_SIZE, type Sigstruct } from './sigstruct.js';

export interface FoundSigstruct {
  /** `sigstruct`: a raw 1808-byte SIGSTRUCT (Gramine `.sig`, SDK `css.bin`); `sgx-sdk`: `.note.sgxmeta`; `openenclave`: `.oeinfo`. */
  source: 'sigstruct' | 'sgx-sdk' | 'openenclave';
  offset: number;
  sigstruct: Sigstruct;
  /** SGX SDK metadata version, "major.minor". */
  metadataVersion?: string;
}

export class EnclaveFileError extends ConfkubeError {}

/** `metadata_t` magic (SDK common/inc/internal/metadata.h). */
const METADATA_MAGIC = 0x86a80294635d0e4cn;
const SGX_NOTE_NAME = 'sgx_metadata';

/**
 * Every SIGSTRUCT in a file: a raw SIGSTRUCT, an Intel SGX SDK signed enclave (one or several metadata
 * blocks in `.note.sgxmeta`), or an Open Enclave / EGo enclave (`.oeinfo`). Typed error when there is none.
 */
export function findSigstructs(file: Uint8Array): FoundSigstruct[] {
  if (!isElf(file)) {
    if (file.length !== SIGSTRUCT_SIZE) {
      throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `not an ELF enclave and not a raw SIGSTRUCT (${file.length} bytes; a SIGSTRUCT has ${SIGSTRUCT_SIZE})`);
    }
    return [{ source: 'sigstruct', offset: 0, sigstruct: parseSigstruct(file, 0) }];
  }
  const sections = elfSections(file);
  const meta = sections.find((s) => s.name === '.note.sgxmeta');
  if (meta) return sdkMetadata(file, meta.offset, meta.size);
  const oe = sections.find((s) => s.name === '.oeinfo');
  if (oe) return [openEnclave(file, oe.offset, oe.size)];
  throw new EnclaveFileError('ERR_ENCLAVE_UNSIGNED', 'ELF file has neither .note.sgxmeta (Intel SGX SDK) nor .oeinfo (Open Enclave / EGo): not a signed SGX enclave');
}

/**
 * `.note.sgxmeta`: one ELF note, name "sgx_metadata" (namesz 13), and the descriptor immediately after the
 * 13-byte name with no 4-byte padding (the SDK's own parser reads it there: psw/urts/parser/elfparser.cpp).
 * The descriptor holds metadata_t blocks back to back, each `size` bytes, SIGSTRUCT at +64.
 */
function sdkMetadata(file: Uint8Array, offset: number, size: number): FoundSigstruct[] {
  const r = new ByteReader(file, 'ERR_ENCLAVE_TRUNCATED', '.note.sgxmeta', offset, offset + size);
  const namesz = r.u32('note namesz');
  const descsz = r.u32('note descsz');
  r.u32('note type');
  const name = Buffer.from(r.bytes(namesz, 'note name')).toString('latin1').replace(/\0+$/, '');
  if (name !== SGX_NOTE_NAME) throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `.note.sgxmeta note name is "${name}", expected "${SGX_NOTE_NAME}"`);
  const descStart = r.pos;
  r.need(descsz, 'metadata descriptor');
  const descEnd = descStart + descsz;
  const out: FoundSigstruct[] = [];
  let p = descStart;
  while (p + 24 <= descEnd) {
    const m = new ByteReader(file, 'ERR_ENCLAVE_TRUNCATED', 'metadata_t', p, descEnd);
    const magic = m.u64('magic');
    if (magic !== METADATA_MAGIC) break;
    const version = m.u64('version');
    const blockSize = m.u32('size');
    if (blockSize < 64 + SIGSTRUCT_SIZE || p + blockSize > descEnd) {
      throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `metadata block at offset ${p} has size ${blockSize}, which does not fit the ${descsz}-byte descriptor`);
    }
    out.push({ source: 'sgx-sdk', offset: p + 64, sigstruct: parseSigstruct(file, p + 64), metadataVersion: `${version >> 32n}.${version & 0xffffffffn}` });
    p += blockSize;
  }
  if (out.length === 0) throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `.note.sgxmeta at offset ${descStart} holds no metadata block (magic 0x86a80294635d0e4c)`);
  return out;
}

/**
 * `.oeinfo`: oe_sgx_enclave_properties_t with the SIGSTRUCT at 144 (OE HEAD), 48 or 96 in older releases:
 * scan for the SIGSTRUCT header; an all-zero SIGSTRUCT means the enclave is not signed yet.
 */
function openEnclave(file: Uint8Array, offset: number, size: number): FoundSigstruct {
  const end = offset + size;
  for (const rel of [144, 96, 48]) {
    const at = offset + rel;
    if (at + SIGSTRUCT_SIZE > end) continue;
    const region = file.subarray(at, at + SIGSTRUCT_SIZE);
    if (isAllZero(region.subarray(0, 128)) && isAllZero(region.subarray(128, 512))) {
      throw new EnclaveFileError('ERR_ENCLAVE_UNSIGNED', `.oeinfo SIGSTRUCT at offset ${at} is all zero: the enclave is not signed (run oesign / ego sign)`);
    }
    if (SIGSTRUCT_HEADER.every((v, i) => region[i] === v)) return { source: 'openenclave', offset: at, sigstruct: parseSigstruct(file, at) };
  }
  throw new EnclaveFileError('ERR_ENCLAVE_FORMAT', `.oeinfo at offset ${offset} (${size} bytes) holds no SIGSTRUCT at 144, 96 or 48`);
}
