import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { findSigstructs, measureSgxs, parseSigstruct, sigstructToJson, verifySigstruct } from '../../src/sgx/index.js';
import { toHex } from '../../src/lib/bytes.js';
import { ConfkubeError } from '../../src/lib/errors.js';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.js';
import { buildElf, metadataBlock, sgxMetaNote } from '../helpers/elf.js';

const expected = JSON.parse(fixtureText('sigstruct/expected.json')) as Record<string, Record<string, string | number | boolean>>;
const signedFiles = Object.keys(expected).filter((f) => !f.endsWith('.sgxs'));

for (const file of signedFiles) {
  test(`${file}: every expected value`, () => {
    const e = expected[file];
    const bytes = fixtureBytes(`sigstruct/${file}`);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), e.sha256_of_file);
    const found = findSigstructs(bytes);
    assert.equal(found.length, 1);
    const f = found[0];
    assert.equal(f.offset, e.sigstruct_file_offset);
    assert.equal(f.source, file.endsWith('.so') ? 'sgx-sdk' : 'sigstruct');
    const s = f.sigstruct;
    const j = sigstructToJson(s);
    assert.equal(j.mrSigner, e.mrsigner);
    assert.equal(j.mrEnclave, e.mrenclave_enclavehash);
    assert.equal(s.isvProdId, e.isvprodid);
    assert.equal(s.isvSvn, e.isvsvn);
    assert.equal(j.attributes.flags, e.attributes_flags);
    assert.equal(j.attributes.xfrm, e.attributes_xfrm);
    assert.equal(j.attributeMask.flags, e.attributemask_flags);
    assert.equal(j.attributeMask.xfrm, e.attributemask_xfrm);
    assert.equal(j.miscSelect, e.miscselect);
    assert.equal(j.miscMask, e.miscmask);
    assert.equal(j.vendor, e.vendor);
    assert.equal(j.headerType, e.header_type_bytes12_15);
    assert.equal(s.swDefined, e.swdefined_hwversion);
    assert.equal(s.date, e.date);
    assert.equal(`0x${s.dateRaw.toString(16)}`, e.date_raw_le_u32);
    assert.equal(j.isvFamilyId, e.isvfamilyid);
    assert.equal(j.isvExtProdId, e.isvextprodid);
    assert.equal(s.exponent, e.exponent);
    const v = verifySigstruct(s);
    assert.equal(v.signatureValid, e.signature_valid_rsa3072_pkcs1v15_sha256);
    assert.equal(v.q1q2Valid, e.q1_q2_valid);
    // The DEBUG bit is free only where the mask leaves bit 1 unset (the Fortanix test enclave).
    assert.equal(s.debugSigned, (BigInt(e.attributemask_flags as string) & 2n) === 0n);
  });
}

test('the .sgxs stream re-measures to the MRENCLAVE its .sig promises', () => {
  const m = measureSgxs(fixtureBytes('sigstruct/fortanix-test_enclave.sgxs'));
  assert.equal(toHex(m.mrEnclave), expected['fortanix-test_enclave.sgxs'].sha256_of_file_equals_mrenclave);
  assert.equal(toHex(m.mrEnclave), expected['fortanix-test_enclave.sig'].mrenclave_enclavehash);
  assert.equal(m.pages, 9);
  assert.equal(m.measuredChunks, 9 * 16);
  assert.equal(m.size, 0x40000n);
  assert.equal(m.ssaFrameSize, 1);
});

test('a changed byte in a signed range fails the signature; a changed modulus changes MRSIGNER', () => {
  const raw = fixtureBytes('sigstruct/intel-le-prod-css_sgx-2.25.bin');
  for (const off of [16, 20, 40, 100, 900, 928, 960, 1024, 1026, 1027]) {
    const b = Uint8Array.from(raw);
    b[off] ^= 1;
    assert.equal(verifySigstruct(parseSigstruct(b)).signatureValid, false, `byte ${off}`);
  }
  for (const off of [516, 899]) {
    const b = Uint8Array.from(raw);
    b[off] ^= 1;
    const v = verifySigstruct(parseSigstruct(b));
    assert.equal(v.signatureValid, false, `signature byte ${off}`);
    assert.equal(v.q1q2Valid, false);
  }
  const m = Uint8Array.from(raw);
  m[200] ^= 1;
  const s = parseSigstruct(m);
  assert.notEqual(toHex(s.mrSigner), expected['intel-le-prod-css_sgx-2.25.bin'].mrsigner);
  assert.equal(verifySigstruct(s).signatureValid, false);
  const q = Uint8Array.from(raw);
  q[1500] ^= 1;
  const qv = verifySigstruct(parseSigstruct(q));
  assert.equal(qv.signatureValid, true);
  assert.equal(qv.q1q2Valid, false);
  const e = Uint8Array.from(raw);
  e[512] = 65;
  assert.match(verifySigstruct(parseSigstruct(e)).reason!, /exponent/);
});

test('several SDK metadata blocks are all listed; a differing one is visible', () => {
  const a = fixtureBytes('sigstruct/intel-le-prod-css_sgx-2.25.bin');
  const b = fixtureBytes('sigstruct/intel-le-prod-css_sgx-1.7.bin');
  const same = findSigstructs(buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(a, 2, 4), metadataBlock(a, 2, 1), metadataBlock(a, 1, 4)]) }]));
  assert.deepEqual(same.map((f) => f.metadataVersion), ['2.4', '2.1', '1.4']);
  assert.ok(same.every((f) => toHex(f.sigstruct.mrEnclave) === toHex(same[0].sigstruct.mrEnclave)));
  const differ = findSigstructs(buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(a, 2, 1), metadataBlock(b, 1, 4)]) }]));
  assert.notEqual(toHex(differ[0].sigstruct.mrEnclave), toHex(differ[1].sigstruct.mrEnclave));
});

test('Open Enclave / EGo .oeinfo: SIGSTRUCT at 144 (current) and 96 (older); all-zero means unsigned', () => {
  // oe_sgx_enclave_properties_t (OE include/openenclave/bits/sgx/sgxproperties.h): header 32, config 64,
  // image_info 48, sigstruct 1808 at 144, end marker. No public OE vector: the layout is built here.
  const sig = fixtureBytes('sigstruct/fortanix-test_enclave.sig');
  for (const at of [144, 96]) {
    const props = Buffer.alloc(at + 1808 + 8);
    props.set(sig, at);
    props.writeBigUInt64LE(0xececececececececn, at + 1808);
    const found = findSigstructs(buildElf([{ name: '.text', data: new Uint8Array(32) }, { name: '.oeinfo', data: new Uint8Array(props) }]));
    assert.equal(found[0].source, 'openenclave');
    assert.equal(toHex(found[0].sigstruct.mrSigner), expected['fortanix-test_enclave.sig'].mrsigner);
    assert.equal(verifySigstruct(found[0].sigstruct).signatureValid, true);
  }
  const unsigned = buildElf([{ name: '.oeinfo', data: new Uint8Array(144 + 1808 + 8) }]);
  assert.throws(() => findSigstructs(unsigned), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_ENCLAVE_UNSIGNED');
  assert.throws(() => findSigstructs(buildElf([{ name: '.text', data: new Uint8Array(8) }])), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_ENCLAVE_UNSIGNED');
});

function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
  }
}

test('every truncation of every real file gives a typed error', () => {
  for (const file of signedFiles.filter((f) => !f.endsWith('.so'))) {
    const b = fixtureBytes(`sigstruct/${file}`);
    for (let n = 0; n < b.length; n++) assert.throws(() => findSigstructs(b.subarray(0, n)), (e: unknown) => e instanceof ConfkubeError, `${file} at ${n}`);
  }
  const sgxs = fixtureBytes('sigstruct/fortanix-test_enclave.sgxs');
  for (let n = 0; n < sgxs.length; n++) {
    // A stream cut exactly after a whole EADD/EEXTEND record is a shorter but well-formed stream.
    try {
      measureSgxs(sgxs.subarray(0, n));
    } catch (e) {
      assert.ok(e instanceof ConfkubeError, `.sgxs at ${n}: ${String(e)}`);
    }
  }
  // The 1.2 MB signed enclave: every length across the ELF header, the section headers and the metadata,
  // and a stride elsewhere.
  const so = fixtureBytes('sigstruct/intel-tdqe_tdx-1.5.signed.so');
  const lengths = new Set<number>();
  for (let n = 0; n < 128; n++) lengths.add(n);
  for (let n = 1194500; n < 1194600 + 1808 + 64; n++) lengths.add(n);
  for (let n = so.length - 4096; n < so.length; n++) lengths.add(n);
  for (let n = 0; n < so.length; n += 997) lengths.add(n);
  for (const n of lengths) assert.throws(() => findSigstructs(so.subarray(0, n)), (e: unknown) => e instanceof ConfkubeError, `.so at ${n}`);
});

test('fast-check: random bytes and random edits of real files never throw anything but a typed error', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (b) => {
    onlyTyped(() => findSigstructs(b));
    onlyTyped(() => measureSgxs(b));
    onlyTyped(() => verifySigstruct(parseSigstruct(b)));
  }), { numRuns: 10_000 });
  const sig = fixtureBytes('sigstruct/intel-le-prod-css_sgx-2.25.bin');
  const sgxs = fixtureBytes('sigstruct/fortanix-test_enclave.sgxs');
  const elf = buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(sig, 2, 1), metadataBlock(sig, 1, 4)]) }]);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
    for (const base of [sig, sgxs, elf]) {
      const b = Uint8Array.from(base);
      for (const [i, v] of edits) b[i % b.length] = v;
      onlyTyped(() => findSigstructs(b).map((f) => verifySigstruct(f.sigstruct)));
      onlyTyped(() => measureSgxs(b));
    }
  }), { numRuns: 10_000 });
});

test('a malformed .sgxs stream says what and where', () => {
  const sgxs = fixtureBytes('sigstruct/fortanix-test_enclave.sgxs');
  const b = Uint8Array.from(sgxs);
  b.set(Buffer.from('EWHAT\0\0\0'), 64);
  assert.throws(() => measureSgxs(b), /unknown measurement block at offset 64/);
  assert.throws(() => measureSgxs(sgxs.subarray(64)), /does not start with an ECREATE/);
});
