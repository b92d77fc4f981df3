import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { elfSections } from '../../src/sgx/elf.js';
import { findSigstructs } from '../../src/sgx/enclave-file.js';
import { verifySigstruct } from '../../src/sgx/sigstruct.js';
import { toHex } from '../../src/lib/bytes.js';
import { ConfkubeError } from '../../src/lib/errors.js';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.js';
import { buildElf, metadataBlock, sgxMetaNote } from '../helpers/elf.js';

const expected = JSON.parse(fixtureText('sigstruct/expected.json')) as Record<string, Record<string, string | number>>;
const SO = 'sigstruct/intel-tdqe_tdx-1.5.signed.so';
const so = fixtureBytes(SO);
const le225 = fixtureBytes('sigstruct/intel-le-prod-css_sgx-2.25.bin');
const le17 = fixtureBytes('sigstruct/intel-le-prod-css_sgx-1.7.bin');
const ftxSig = fixtureBytes('sigstruct/fortanix-test_enclave.sig');

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
    return e.code;
  }
}

test('the real SDK enclave: section table, note quirk and the SIGSTRUCT offset from its README', () => {
  const meta = elfSections(so).find((s) => s.name === '.note.sgxmeta')!;
  assert.deepEqual({ offset: meta.offset, size: meta.size }, { offset: 0x123a00, size: 0x501c });
  const found = findSigstructs(so);
  assert.equal(found.length, 1);
  assert.equal(found[0].source, 'sgx-sdk');
  assert.equal(found[0].metadataVersion, '1.4');
  // Descriptor right after the 13-byte name (0x123a00 + 12 + 13 = 1194521), SIGSTRUCT at metadata + 64.
  assert.equal(found[0].offset, 1194521 + 64);
  assert.equal(found[0].offset, expected['intel-tdqe_tdx-1.5.signed.so'].sigstruct_file_offset);
  assert.equal(toHex(found[0].sigstruct.mrSigner), expected['intel-tdqe_tdx-1.5.signed.so'].mrsigner);
});

test('several SDK metadata blocks (2.4 / 2.1 / 1.4) are all listed in order; a differing one is visible', () => {
  const same = findSigstructs(buildElf([{ name: '.text', data: new Uint8Array(16) }, { name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(le225, 2, 4), metadataBlock(le225, 2, 1), metadataBlock(le225, 1, 4)]) }]));
  assert.deepEqual(same.map((f) => f.metadataVersion), ['2.4', '2.1', '1.4']);
  assert.ok(same.every((f) => f.source === 'sgx-sdk' && verifySigstruct(f.sigstruct).signatureValid));
  assert.ok(same.every((f) => toHex(f.sigstruct.raw) === toHex(le225)));
  const differ = findSigstructs(buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(le225, 2, 1, 0x3000), metadataBlock(le17, 1, 4)]) }]));
  assert.equal(differ.length, 2);
  assert.equal(differ[1].offset - differ[0].offset, 0x3000);
  assert.equal(toHex(differ[0].sigstruct.mrEnclave), expected['intel-le-prod-css_sgx-2.25.bin'].mrenclave_enclavehash);
  assert.equal(toHex(differ[1].sigstruct.mrEnclave), expected['intel-le-prod-css_sgx-1.7.bin'].mrenclave_enclavehash);
});

test('an sgx_metadata note padded the gABI way is read as well', () => {
  const desc = Buffer.from(metadataBlock(le225, 1, 4));
  const head = Buffer.alloc(12);
  head.writeUInt32LE(13, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(1, 8);
  const note = new Uint8Array(Buffer.concat([head, Buffer.from('sgx_metadata\0\0\0\0', 'latin1'), desc]));
  const found = findSigstructs(buildElf([{ name: '.note.sgxmeta', data: note }]));
  assert.equal(found.length, 1);
  assert.equal(toHex(found[0].sigstruct.mrSigner), expected['intel-le-prod-css_sgx-2.25.bin'].mrsigner);
});

test('bad .note.sgxmeta contents: wrong name, no magic, block size too small or too large', () => {
  const note = Buffer.from(sgxMetaNote([metadataBlock(le225, 1, 4)]));
  const wrongName = Buffer.from(note);
  wrongName.write('xgx', 12, 'latin1');
  assert.throws(() => findSigstructs(buildElf([{ name: '.note.sgxmeta', data: wrongName }])), /note name is "xgx_metadata"/);
  const noMagic = Buffer.from(note);
  noMagic[25] ^= 0xff;
  assert.equal(codeOf(() => findSigstructs(buildElf([{ name: '.note.sgxmeta', data: noMagic }]))), 'ERR_ENCLAVE_FORMAT');
  for (const size of [100, 1 << 20]) {
    const b = Buffer.from(note);
    b.writeUInt32LE(size, 25 + 16);
    assert.throws(() => findSigstructs(buildElf([{ name: '.note.sgxmeta', data: b }])), new RegExp(`metadata_t at offset \\d+ has size ${size}`));
  }
  const longDesc = Buffer.from(note);
  longDesc.writeUInt32LE(note.length, 4);
  assert.throws(() => findSigstructs(buildElf([{ name: '.note.sgxmeta', data: longDesc }])), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_ENCLAVE_TRUNCATED');
});

test('SDK metadata found by its magic: a PE (Windows .signed.dll) container and a renamed ELF section', () => {
  // A PE file starts with "MZ"; the metadata_t blocks sit in one of its sections. Only the blocks matter here.
  const pe = Buffer.alloc(0x3000);
  pe.write('MZ', 0, 'latin1');
  const blocks = Buffer.concat([metadataBlock(le225, 2, 1), metadataBlock(le225, 1, 4)]);
  const padded = Buffer.concat([pe, blocks, Buffer.alloc(100)]);
  const found = findSigstructs(new Uint8Array(padded));
  assert.deepEqual(found.map((f) => [f.source, f.offset, f.metadataVersion]), [['sgx-sdk', 0x3000 + 64, '2.1'], ['sgx-sdk', 0x3000 + 4136 + 64, '1.4']]);
  const renamed = findSigstructs(buildElf([{ name: '.sgxmeta', data: sgxMetaNote([metadataBlock(le17, 1, 4)]) }]));
  assert.equal(toHex(renamed[0].sigstruct.mrEnclave), expected['intel-le-prod-css_sgx-1.7.bin'].mrenclave_enclavehash);
  // The magic alone, without a SIGSTRUCT behind it, is not a hit.
  const decoy = Buffer.concat([pe, Buffer.from(metadataBlock(new Uint8Array(1808), 1, 4))]);
  assert.equal(codeOf(() => findSigstructs(new Uint8Array(decoy))), 'ERR_ENCLAVE_FORMAT');
});

/** A minimal little-endian ELF32 with one section (the SDK signs 32-bit enclaves too); gABI offsets. */
function elf32(name: string, data: Uint8Array): Uint8Array {
  const strtab = Buffer.from(`\0${name}\0.shstrtab\0`, 'latin1');
  const dataOff = 52;
  const strOff = dataOff + data.length;
  const shoff = (strOff + strtab.length + 3) & ~3;
  const out = Buffer.alloc(shoff + 3 * 40);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0);
  out.writeUInt16LE(3, 16);
  out.writeUInt16LE(3, 18); // EM_386
  out.writeUInt32LE(1, 20);
  out.writeUInt32LE(shoff, 0x20);
  out.writeUInt16LE(52, 0x28);
  out.writeUInt16LE(40, 0x2e);
  out.writeUInt16LE(3, 0x30);
  out.writeUInt16LE(2, 0x32);
  out.set(data, dataOff);
  out.set(strtab, strOff);
  const sh = (i: number, nameOff: number, type: number, off: number, size: number) => {
    out.writeUInt32LE(nameOff, shoff + i * 40);
    out.writeUInt32LE(type, shoff + i * 40 + 4);
    out.writeUInt32LE(off, shoff + i * 40 + 16);
    out.writeUInt32LE(size, shoff + i * 40 + 20);
  };
  sh(1, 1, 7, dataOff, data.length);
  sh(2, 2 + name.length, 3, strOff, strtab.length);
  return new Uint8Array(out);
}

test('a 32-bit SDK enclave (ELF32)', () => {
  const f = elf32('.note.sgxmeta', sgxMetaNote([metadataBlock(ftxSig, 1, 3)]));
  assert.deepEqual(elfSections(f).map((s) => s.name), ['', '.note.sgxmeta', '.shstrtab']);
  const found = findSigstructs(f);
  assert.equal(found[0].metadataVersion, '1.3');
  assert.equal(toHex(found[0].sigstruct.mrSigner), expected['fortanix-test_enclave.sig'].mrsigner);
});

/**
 * oe_sgx_enclave_properties_t as documented in Open Enclave's include/openenclave/bits/sgx/sgxproperties.h:
 * header {size u32, enclave_type u32, size_settings {heap, stack, tcs u64}} (32 B), config, image_info
 * (6 × u64), sigstruct[1808], end_marker 0xececececececececec. At OE HEAD the config is 64 bytes (product_id,
 * security_version, flags, family_id[16], extended_product_id[16], attributes, xfrm, start_address) and the
 * SIGSTRUCT is at 144; older releases had a 16-byte config (SIGSTRUCT at 96). No public OE-signed binary is
 * among the vectors, so the section is built here from that layout around a real SIGSTRUCT.
 */
function oeProperties(sig: Uint8Array | null, at: 144 | 96): Uint8Array {
  const size = at + 1808 + 8;
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, 0);
  b.writeUInt32LE(2, 4); // OE_ENCLAVE_TYPE_SGX
  b.writeBigUInt64LE(1024n, 8);
  b.writeBigUInt64LE(64n, 16);
  b.writeBigUInt64LE(4n, 24);
  b.writeUInt16LE(7, 32); // product_id
  b.writeUInt16LE(3, 34); // security_version
  b.writeBigUInt64LE(0x6n, at === 144 ? 72 : 40); // attributes: MODE64BIT | DEBUG
  if (sig) b.set(sig, at);
  b.writeBigUInt64LE(0xececececececececn, at + 1808);
  return new Uint8Array(b);
}

test('Open Enclave / EGo .oeinfo: current (144) and older (96) layouts found by header.size and end marker', () => {
  for (const at of [144, 96] as const) {
    const file = buildElf([{ name: '.text', data: new Uint8Array(40) }, { name: '.oeinfo', data: oeProperties(ftxSig, at) }, { name: '.data', data: new Uint8Array(8) }]);
    const sec = elfSections(file).find((s) => s.name === '.oeinfo')!;
    const found = findSigstructs(file);
    assert.equal(found.length, 1);
    assert.equal(found[0].source, 'openenclave');
    assert.equal(found[0].offset, sec.offset + at);
    assert.equal(toHex(found[0].sigstruct.mrSigner), expected['fortanix-test_enclave.sig'].mrsigner);
    assert.equal(toHex(found[0].sigstruct.mrEnclave), expected['fortanix-test_enclave.sig'].mrenclave_enclavehash);
    assert.equal(verifySigstruct(found[0].sigstruct).signatureValid, true);
  }
});

test('.oeinfo with an unknown layout: the SIGSTRUCT is found by its fixed headers', () => {
  const props = Buffer.alloc(200 + 1808 + 8);
  props.writeUInt32LE(0xdead, 0); // size that fits no layout
  props.set(le225, 200);
  const file = buildElf([{ name: '.oeinfo', data: new Uint8Array(props) }]);
  const found = findSigstructs(file);
  assert.equal(found[0].offset, elfSections(file).find((s) => s.name === '.oeinfo')!.offset + 200);
  assert.equal(toHex(found[0].sigstruct.mrSigner), expected['intel-le-prod-css_sgx-2.25.bin'].mrsigner);
});

test('unsigned Open Enclave binaries and ELF files without SGX metadata are ERR_ENCLAVE_UNSIGNED', () => {
  for (const at of [144, 96] as const) {
    const file = buildElf([{ name: '.oeinfo', data: oeProperties(null, at) }]);
    assert.throws(() => findSigstructs(file), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_ENCLAVE_UNSIGNED' && /all zero/.test(e.message));
  }
  assert.equal(codeOf(() => findSigstructs(buildElf([{ name: '.oeinfo', data: new Uint8Array(144 + 1808 + 8) }]))), 'ERR_ENCLAVE_UNSIGNED');
  assert.equal(codeOf(() => findSigstructs(buildElf([{ name: '.text', data: new Uint8Array(8) }]))), 'ERR_ENCLAVE_UNSIGNED');
  // Early OE: .oeinfo stays unsigned, the signed copy is in .oesign.
  const early = findSigstructs(buildElf([{ name: '.oeinfo', data: oeProperties(null, 96) }, { name: '.oesign', data: oeProperties(le17, 96) }]));
  assert.equal(toHex(early[0].sigstruct.mrEnclave), expected['intel-le-prod-css_sgx-1.7.bin'].mrenclave_enclavehash);
  // Neither zero nor a SIGSTRUCT where one must be.
  const junk = oeProperties(null, 144);
  junk.fill(0x55, 144, 144 + 1808);
  assert.equal(codeOf(() => findSigstructs(buildElf([{ name: '.oeinfo', data: junk }]))), 'ERR_SIGSTRUCT_HEADER');
  assert.equal(codeOf(() => findSigstructs(buildElf([{ name: '.oeinfo', data: new Uint8Array(100) }]))), 'ERR_ENCLAVE_FORMAT');
});

test('not an enclave: other sizes, other ELF classes and encodings, broken section tables', () => {
  assert.throws(() => findSigstructs(Buffer.from('not an enclave')), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_ENCLAVE_FORMAT' && /14 bytes/.test(e.message));
  const be = Uint8Array.from(so);
  be[5] = 2;
  assert.throws(() => findSigstructs(be), /data encoding 2 at offset 5/);
  const cls = Uint8Array.from(so);
  cls[4] = 3;
  assert.throws(() => findSigstructs(cls), /ELF class 3 at offset 4/);
  const shent = Buffer.from(so);
  shent.writeUInt16LE(10, 0x3a);
  assert.throws(() => findSigstructs(new Uint8Array(shent)), /section header entry size 10/);
  const strndx = Buffer.from(so);
  strndx.writeUInt16LE(0xffff, 0x3e);
  assert.throws(() => findSigstructs(new Uint8Array(strndx)), /e_shstrndx 65535 is not a section/);
});

test('a crafted section table cannot make name lookup quadratic: names are read up to 256 bytes', () => {
  // 4096 section headers all naming offset 0 of a 1 MiB string table with no NUL in it.
  const shnum = 4096;
  const strsz = 1 << 20;
  const shoff = 64 + strsz;
  const b = Buffer.alloc(shoff + shnum * 64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.fill(0x41, 64, 64 + strsz);
  b.writeBigUInt64LE(BigInt(shoff), 0x28);
  b.writeUInt16LE(64, 0x3a);
  b.writeUInt16LE(shnum, 0x3c);
  b.writeUInt32LE(3, shoff + 4);
  b.writeBigUInt64LE(64n, shoff + 0x18);
  b.writeBigUInt64LE(BigInt(strsz), shoff + 0x20);
  const sections = elfSections(new Uint8Array(b));
  assert.equal(sections.length, shnum);
  assert.ok(sections.every((s) => s.name === 'A'.repeat(256)));
  assert.equal(codeOf(() => findSigstructs(new Uint8Array(b))), 'ERR_ENCLAVE_UNSIGNED');
});

test('truncating the real signed enclave at every length gives a typed error', () => {
  const counts = new Map<string, number>();
  // 1.2 million errors: their stack traces are not what is under test.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (let n = 0; n < so.length; n++) {
      const code = codeOf(() => findSigstructs(so.subarray(0, n)));
      assert.ok(code !== undefined, `length ${n} parsed`);
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
  assert.deepEqual([...counts.keys()].sort(), ['ERR_ELF_TRUNCATED', 'ERR_ENCLAVE_FORMAT']);
});

test('fast-check: findSigstructs on random bytes, ELF-looking bytes and random edits of real enclaves throws only typed errors', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => void codeOf(() => findSigstructs(b))), { numRuns: 10_000 });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 64, maxLength: 4096 }), fc.constantFrom(1, 2), fc.nat({ max: 4096 }), fc.integer({ min: 0, max: 40 }), (b, cls, shoff, shnum) => {
      b.set([0x7f, 0x45, 0x4c, 0x46, cls, 1], 0);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (cls === 2) {
        v.setBigUint64(0x28, BigInt(shoff), true);
        v.setUint16(0x3a, 64, true);
        v.setUint16(0x3c, shnum, true);
      } else {
        v.setUint32(0x20, shoff, true);
        v.setUint16(0x2e, 40, true);
        v.setUint16(0x30, shnum, true);
      }
      codeOf(() => findSigstructs(b));
    }),
    { numRuns: 10_000 },
  );
  const magic = Buffer.from('4c0e5d639402a886', 'hex');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 2000, maxLength: 6000 }), fc.nat(), fc.boolean(), (b, at, withHeader) => {
      const p = at % (b.length - 8);
      b.set(magic, p);
      if (withHeader && p + 64 + 40 <= b.length) b.set(le225.subarray(0, 40), p + 64);
      b[0] = 0x4d;
      codeOf(() => findSigstructs(b));
    }),
    { numRuns: 10_000 },
  );
  const sdk = buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(le225, 2, 1), metadataBlock(le17, 1, 4)]) }]);
  const oe = buildElf([{ name: '.oeinfo', data: oeProperties(ftxSig, 144) }]);
  const shdrs = Number(new DataView(so.buffer, so.byteOffset).getBigUint64(0x28, true));
  // Edits land where the readers look: ELF header, section headers, the note and metadata, and anywhere.
  const soRegions: [number, number][] = [[0, 64], [shdrs, so.length], [0x123a00, 0x123a00 + 64 + 1808 + 64], [0, so.length]];
  fc.assert(
    fc.property(fc.constantFrom(0, 1, 2), fc.nat({ max: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (which, region, edits) => {
      const base = which === 0 ? so : which === 1 ? sdk : oe;
      const [lo, hi] = which === 0 ? soRegions[region] : [0, base.length];
      const saved = edits.map(([i]) => lo + (i % (hi - lo)));
      const b = which === 0 ? so.slice() : Uint8Array.from(base);
      edits.forEach(([, v], k) => (b[saved[k]] = v));
      codeOf(() => findSigstructs(b).map((f) => verifySigstruct(f.sigstruct)));
    }),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(fc.constantFrom(sdk, oe), fc.nat(), fc.nat(), (base, from, len) => {
      codeOf(() => findSigstructs(base.subarray(from % base.length, (from % base.length) + (len % base.length))));
    }),
    { numRuns: 10_000 },
  );
});
