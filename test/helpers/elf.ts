/**
 * A minimal ELF64 little-endian file with the given sections, for tests that need enclave layouts no
 * public vector has (several SDK metadata blocks, Open Enclave `.oeinfo`). Only what section lookup reads.
 */
export function buildElf(sections: { name: string; data: Uint8Array; type?: number }[]): Uint8Array {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const strtab = Buffer.from(names.join('\0') + '\0', 'latin1');
  const nameOff = (i: number) => Buffer.from(names.slice(0, i).join('\0') + (i > 0 ? '\0' : ''), 'latin1').length;
  let off = 64;
  const placed = sections.map((s) => {
    const p = { ...s, offset: off };
    off += s.data.length;
    return p;
  });
  const strOff = off;
  off += strtab.length;
  const shoff = (off + 7) & ~7;
  const shnum = sections.length + 2;
  const out = Buffer.alloc(shoff + shnum * 64);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  out.writeUInt16LE(3, 16); // ET_DYN
  out.writeUInt16LE(62, 18); // x86-64
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt(shoff), 0x28);
  out.writeUInt16LE(64, 0x34);
  out.writeUInt16LE(64, 0x3a);
  out.writeUInt16LE(shnum, 0x3c);
  out.writeUInt16LE(shnum - 1, 0x3e);
  for (const p of placed) out.set(p.data, p.offset);
  out.set(strtab, strOff);
  const sh = (i: number, name: number, type: number, offset: number, size: number) => {
    const b = shoff + i * 64;
    out.writeUInt32LE(name, b);
    out.writeUInt32LE(type, b + 4);
    out.writeBigUInt64LE(BigInt(offset), b + 0x18);
    out.writeBigUInt64LE(BigInt(size), b + 0x20);
  };
  placed.forEach((p, i) => sh(i + 1, nameOff(i + 1), p.type ?? 7, p.offset, p.data.length));
  sh(shnum - 1, nameOff(names.length - 1), 3, strOff, strtab.length);
  return new Uint8Array(out);
}

/** `.note.sgxmeta` content: note header, 13-byte name, descriptor right after (no padding), as the SDK writes it. */
export function sgxMetaNote(blocks: Uint8Array[]): Uint8Array {
  const desc = Buffer.concat(blocks);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(13, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(1, 8);
  return new Uint8Array(Buffer.concat([head, Buffer.from('sgx_metadata\0', 'latin1'), desc]));
}

/** One SDK metadata_t block carrying a SIGSTRUCT. */
export function metadataBlock(sigstruct: Uint8Array, major: number, minor: number, size = 4136): Uint8Array {
  const b = Buffer.alloc(size);
  b.writeBigUInt64LE(0x86a80294635d0e4cn, 0);
  b.writeBigUInt64LE((BigInt(major) << 32n) | BigInt(minor), 8);
  b.writeUInt32LE(size, 16);
  b.set(sigstruct, 64);
  return new Uint8Array(b);
}
