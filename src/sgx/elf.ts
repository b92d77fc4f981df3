import { ByteReader } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';

/** An ELF file that cannot be read: codes ERR_ELF_FORMAT, ERR_ELF_TRUNCATED. */
export class ElfError extends ConfkubeError {}

export interface ElfSection {
  name: string;
  type: number;
  /** File offset of the section's bytes; size 0 for SHT_NOBITS. */
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  fileSize: number;
  memSize: bigint;
}

export const SHT_NOBITS = 8;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
const MAX_SECTION_NAME = 256;

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && ELF_MAGIC.every((m, i) => b[i] === m);
}

/**
 * The ELF header fields that section and segment lookup need; offsets from the System V gABI. Little-endian
 * ELF64 (x86-64 enclaves) and ELF32 (the SDK also signs 32-bit enclaves). Section headers are required: the
 * SDK and Open Enclave loaders find their metadata by section name, so a file without them would not load.
 */
interface ElfHeader {
  is64: boolean;
  phoff: bigint;
  phentsize: number;
  phnum: number;
  shoff: bigint;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

function header(b: Uint8Array): ElfHeader {
  if (!isElf(b)) throw new ElfError('ERR_ELF_FORMAT', 'not an ELF file (no \\x7fELF magic at offset 0)');
  if (b.length < 6) throw new ElfError('ERR_ELF_TRUNCATED', `ELF header truncated: ${b.length} bytes, need at least 6 to read the class`);
  if (b[4] !== 1 && b[4] !== 2) throw new ElfError('ERR_ELF_FORMAT', `ELF class ${b[4]} at offset 4 is neither ELF32 (1) nor ELF64 (2)`);
  if (b[5] !== 1) throw new ElfError('ERR_ELF_FORMAT', `ELF data encoding ${b[5]} at offset 5: SGX enclaves are little-endian`);
  const is64 = b[4] === 2;
  const size = is64 ? 64 : 52;
  if (b.length < size) throw new ElfError('ERR_ELF_TRUNCATED', `ELF header truncated: ${b.length} bytes, an ELF${is64 ? 64 : 32} header has ${size}`);
  const r = new ByteReader(b, 'ERR_ELF_TRUNCATED', 'ELF header', is64 ? 0x20 : 0x1c);
  const phoff = is64 ? r.u64('e_phoff') : BigInt(r.u32('e_phoff'));
  const shoff = is64 ? r.u64('e_shoff') : BigInt(r.u32('e_shoff'));
  r.skip(6, 'e_flags, e_ehsize');
  return {
    is64,
    phoff,
    phentsize: r.u16('e_phentsize'),
    phnum: r.u16('e_phnum'),
    shoff,
    shentsize: r.u16('e_shentsize'),
    shnum: r.u16('e_shnum'),
    shstrndx: r.u16('e_shstrndx'),
  };
}

function tableInFile(b: Uint8Array, what: string, off: bigint, num: number, entsize: number, min: number): number {
  if (entsize < min) throw new ElfError('ERR_ELF_FORMAT', `${what} entry size ${entsize} is smaller than ${min}`);
  if (off + BigInt(num * entsize) > BigInt(b.length)) {
    throw new ElfError('ERR_ELF_TRUNCATED', `ELF truncated: ${num} ${what} entries at offset ${off} need ${num * entsize} bytes, the file has ${b.length}`);
  }
  return Number(off);
}

function inFile(b: Uint8Array, what: string, offset: bigint, size: bigint): void {
  if (offset + size > BigInt(b.length)) {
    throw new ElfError('ERR_ELF_TRUNCATED', `${what} (offset ${offset}, size ${size}) lies past the end of the file (${b.length} bytes)`);
  }
}

/** Section headers with their names. Every offset is bounds-checked against the file. */
export function elfSections(b: Uint8Array): ElfSection[] {
  const h = header(b);
  if (h.shnum === 0) return [];
  const base = tableInFile(b, 'section header', h.shoff, h.shnum, h.shentsize, h.is64 ? 64 : 40);
  const raw: { nameOff: number; type: number; offset: number; size: number }[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const r = new ByteReader(b, 'ERR_ELF_TRUNCATED', `ELF section header ${i}`, base + i * h.shentsize);
    const nameOff = r.u32('sh_name');
    const type = r.u32('sh_type');
    r.skip(h.is64 ? 16 : 8, 'sh_flags, sh_addr');
    const offset = h.is64 ? r.u64('sh_offset') : BigInt(r.u32('sh_offset'));
    const size = h.is64 ? r.u64('sh_size') : BigInt(r.u32('sh_size'));
    // SHT_NOBITS occupies no file bytes.
    if (type !== SHT_NOBITS) inFile(b, `ELF section ${i}`, offset, size);
    raw.push({ nameOff, type, offset: type === SHT_NOBITS ? 0 : Number(offset), size: type === SHT_NOBITS ? 0 : Number(size) });
  }
  if (h.shstrndx >= raw.length) throw new ElfError('ERR_ELF_FORMAT', `e_shstrndx ${h.shstrndx} is not a section (have ${raw.length})`);
  const strtab = raw[h.shstrndx];
  const name = (off: number): string => {
    if (off >= strtab.size) throw new ElfError('ERR_ELF_FORMAT', `section name offset ${off} lies outside the section name table`);
    let end = strtab.offset + off;
    // Names that matter are short; the cap keeps a crafted table (65535 headers into one long unterminated
    // name) linear instead of quadratic.
    const limit = Math.min(strtab.offset + strtab.size, end + MAX_SECTION_NAME);
    while (end < limit && b[end] !== 0) end++;
    return Buffer.from(b.buffer, b.byteOffset + strtab.offset + off, end - strtab.offset - off).toString('latin1');
  };
  return raw.map((s) => ({ name: name(s.nameOff), type: s.type, offset: s.offset, size: s.size }));
}

/** Program headers (segments), bounds-checked: every segment's file bytes lie inside the file. */
export function elfSegments(b: Uint8Array): ElfSegment[] {
  const h = header(b);
  if (h.phnum === 0) return [];
  const base = tableInFile(b, 'program header', h.phoff, h.phnum, h.phentsize, h.is64 ? 56 : 32);
  const out: ElfSegment[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const r = new ByteReader(b, 'ERR_ELF_TRUNCATED', `ELF program header ${i}`, base + i * h.phentsize);
    const type = r.u32('p_type');
    if (h.is64) {
      const flags = r.u32('p_flags');
      const offset = r.u64('p_offset');
      const vaddr = r.u64('p_vaddr');
      r.skip(8, 'p_paddr');
      const fileSize = r.u64('p_filesz');
      const memSize = r.u64('p_memsz');
      inFile(b, `ELF segment ${i}`, offset, fileSize);
      out.push({ type, flags, offset: Number(offset), vaddr, fileSize: Number(fileSize), memSize });
    } else {
      const offset = BigInt(r.u32('p_offset'));
      const vaddr = BigInt(r.u32('p_vaddr'));
      r.skip(4, 'p_paddr');
      const fileSize = BigInt(r.u32('p_filesz'));
      const memSize = BigInt(r.u32('p_memsz'));
      const flags = r.u32('p_flags');
      inFile(b, `ELF segment ${i}`, offset, fileSize);
      out.push({ type, flags, offset: Number(offset), vaddr, fileSize: Number(fileSize), memSize });
    }
  }
  return out;
}

/**
 * The tags present in the PT_DYNAMIC segment (d_tag of each entry up to DT_NULL), e.g. DT_TEXTREL (22).
 * Entries are 16 bytes in ELF64 and 8 in ELF32.
 */
export function elfDynamicTags(b: Uint8Array, segments: ElfSegment[] = elfSegments(b)): Set<bigint> {
  const tags = new Set<bigint>();
  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dyn) return tags;
  const is64 = b[4] === 2;
  const r = new ByteReader(b, 'ERR_ELF_TRUNCATED', 'ELF dynamic segment', dyn.offset, dyn.offset + dyn.fileSize);
  while (r.remaining >= (is64 ? 16 : 8)) {
    const tag = is64 ? r.u64('d_tag') : BigInt(r.u32('d_tag'));
    r.skip(is64 ? 8 : 4, 'd_un');
    if (tag === 0n) break;
    tags.add(tag);
  }
  return tags;
}
