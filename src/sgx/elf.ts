import { ByteReader } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';

export class ElfError extends ConfkubeError {}

export interface ElfSection {
  name: string;
  type: number;
  offset: number;
  size: number;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function isElf(b: Uint8Array): boolean {
  return b.length >= 4 && ELF_MAGIC.every((m, i) => b[i] === m);
}

/** Section headers of a little-endian ELF64 file (SGX enclaves are x86-64). Bounds-checked throughout. */
export function elfSections(b: Uint8Array): ElfSection[] {
  if (!isElf(b)) throw new ElfError('ERR_ELF_FORMAT', 'not an ELF file (no \\x7fELF magic at offset 0)');
  if (b.length < 64) throw new ElfError('ERR_ELF_FORMAT', `ELF header truncated: ${b.length} bytes, need 64`);
  if (b[4] !== 2) throw new ElfError('ERR_ELF_FORMAT', `ELF class ${b[4]} at offset 4: only ELF64 enclaves are supported`);
  if (b[5] !== 1) throw new ElfError('ERR_ELF_FORMAT', `ELF data encoding ${b[5]} at offset 5: only little-endian is supported`);
  const h = new ByteReader(b, 'ERR_ELF_TRUNCATED', 'ELF header', 0x28);
  const shoff = h.u64('e_shoff');
  h.pos = 0x3a;
  const shentsize = h.u16('e_shentsize');
  const shnum = h.u16('e_shnum');
  const shstrndx = h.u16('e_shstrndx');
  if (shnum === 0) return [];
  if (shentsize < 64) throw new ElfError('ERR_ELF_FORMAT', `e_shentsize ${shentsize} at offset 0x3a is smaller than an ELF64 section header`);
  if (shoff + BigInt(shnum * shentsize) > BigInt(b.length)) {
    throw new ElfError('ERR_ELF_TRUNCATED', `ELF truncated: ${shnum} section headers at offset ${shoff} need ${shnum * shentsize} bytes, the file has ${b.length}`);
  }
  const raw: { nameOff: number; type: number; offset: number; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const r = new ByteReader(b, 'ERR_ELF_TRUNCATED', `ELF section header ${i}`, Number(shoff) + i * shentsize);
    const nameOff = r.u32('sh_name');
    const type = r.u32('sh_type');
    r.skip(16, 'sh_flags, sh_addr');
    const offset = r.u64('sh_offset');
    const size = r.u64('sh_size');
    // SHT_NOBITS (8) occupies no file bytes.
    if (type !== 8 && offset + size > BigInt(b.length)) {
      throw new ElfError('ERR_ELF_TRUNCATED', `ELF section ${i} (offset ${offset}, size ${size}) lies past the end of the file (${b.length} bytes)`);
    }
    raw.push({ nameOff, type, offset: Number(offset), size: type === 8 ? 0 : Number(size) });
  }
  if (shstrndx >= raw.length) throw new ElfError('ERR_ELF_FORMAT', `e_shstrndx ${shstrndx} is not a section (have ${raw.length})`);
  const strtab = raw[shstrndx];
  const name = (off: number): string => {
    if (off >= strtab.size) throw new ElfError('ERR_ELF_FORMAT', `section name offset ${off} lies outside the section name table`);
    let end = strtab.offset + off;
    const limit = strtab.offset + strtab.size;
    while (end < limit && b[end] !== 0) end++;
    return Buffer.from(b.buffer, b.byteOffset + strtab.offset + off, end - strtab.offset - off).toString('latin1');
  };
  return raw.map((s) => ({ name: name(s.nameOff), type: s.type, offset: s.offset, size: s.size }));
}
