import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fixtureBytes, fixturePath, fixtureText } from '../helpers/fixtures.js';
import { buildElf, metadataBlock, sgxMetaNote } from '../helpers/elf.js';

const expected = JSON.parse(fixtureText('sigstruct/expected.json')) as Record<string, Record<string, string | number | boolean>>;
const LE = 'sigstruct/intel-le-prod-css_sgx-2.25.bin';
const REQUIRED = ['source', 'mrSigner', 'mrEnclave', 'isvProdId', 'isvSvn', 'vendor', 'date', 'releaseType', 'debugAllowed', 'attributes', 'attributeMask', 'miscSelect', 'miscMask', 'isvFamilyId', 'isvExtProdId', 'signatureValid'];

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-sigstruct-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('sigstruct inspect --json on every vector: the issue\'s fields, the values in expected.json, exit 0', () => {
  for (const file of Object.keys(expected).filter((f) => !f.endsWith('.sgxs'))) {
    const r = runCli(['sigstruct', 'inspect', fixturePath(`sigstruct/${file}`), '--json']);
    assert.equal(r.status, 0, `${file}: ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    const e = expected[file];
    for (const k of REQUIRED) assert.ok(k in j, `${file}: ${k}`);
    assert.equal(j.source, file.endsWith('.so') ? 'sgx-sdk' : 'sigstruct');
    assert.equal(j.offset, e.sigstruct_file_offset);
    assert.equal(j.mrSigner, e.mrsigner);
    assert.equal(j.mrEnclave, e.mrenclave_enclavehash);
    assert.equal(j.isvProdId, e.isvprodid);
    assert.equal(j.isvSvn, e.isvsvn);
    assert.equal(j.vendor, e.vendor);
    assert.equal(j.date, e.date);
    assert.equal(j.attributes.flags, e.attributes_flags);
    assert.equal(j.attributes.xfrm, e.attributes_xfrm);
    assert.equal(j.attributes.debug, false);
    assert.equal(j.attributeMask.flags, e.attributemask_flags);
    assert.equal(j.attributeMask.xfrm, e.attributemask_xfrm);
    assert.equal(j.miscSelect, e.miscselect);
    assert.equal(j.miscMask, e.miscmask);
    assert.equal(j.isvFamilyId, e.isvfamilyid);
    assert.equal(j.isvExtProdId, e.isvextprodid);
    assert.equal(j.debugAllowed, file.startsWith('fortanix'));
    assert.equal(j.releaseType, 'release');
    assert.equal(j.debugSigned, undefined);
    assert.equal(j.signatureValid, true);
    assert.equal(j.q1q2Valid, true);
    assert.equal(j.blocks, undefined);
    if (file.endsWith('.so')) {
      assert.equal(j.measuredMrEnclave, e.mrenclave_enclavehash);
      assert.equal(j.mrEnclaveMatches, true);
    } else assert.equal(j.measuredMrEnclave, undefined);
  }
});

test('sigstruct inspect: an SDK enclave whose code no longer matches its ENCLAVEHASH exits 1', () => {
  withDir((dir) => {
    const so = Uint8Array.from(fixtureBytes('sigstruct/intel-tdqe_tdx-1.5.signed.so'));
    so[0x5000] ^= 1; // one byte of code
    writeFileSync(join(dir, 'tampered.so'), so);
    const r = runCli(['sigstruct', 'inspect', join(dir, 'tampered.so'), '--json']);
    assert.equal(r.status, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.signatureValid, true);
    assert.equal(j.mrEnclaveMatches, false);
    assert.notEqual(j.measuredMrEnclave, j.mrEnclave);
    const h = runCli(['sigstruct', 'inspect', join(dir, 'tampered.so')]);
    assert.equal(h.status, 1);
    assert.match(h.stdout, /it DIFFERS, EINIT would refuse this enclave/);
    // Marked as metadata 2.1, whose loader layout is not verified against a real enclave: no verdict, exit 0.
    Buffer.from(so.buffer).writeBigUInt64LE((2n << 32n) | 1n, 1194521 + 8);
    writeFileSync(join(dir, 'v2.so'), so);
    const v2 = runCli(['sigstruct', 'inspect', join(dir, 'v2.so'), '--json']);
    assert.equal(v2.status, 0, v2.stdout);
    assert.equal(JSON.parse(v2.stdout).mrEnclaveMatches, null);
  });
});

test('sigstruct inspect: human output, a hex-encoded .sig, and an invalid signature (exit 1)', () => {
  withDir((dir) => {
    const human = runCli(['sigstruct', 'inspect', fixturePath('sigstruct/fortanix-test_enclave.sig')]);
    assert.equal(human.status, 0);
    assert.match(human.stdout, /^SIGSTRUCT: signature valid/);
    assert.match(human.stdout, /MRSIGNER {3}fb4bab3d6036ac1d730fa83d7366df1dd2dfeac194ef335d6854d8a6c6475542/);
    assert.match(human.stdout, /DEBUG {6}allowed/);
    const raw = fixtureBytes(LE);
    writeFileSync(join(dir, 'le.hex'), Buffer.from(raw).toString('hex') + '\n');
    const hex = runCli(['sigstruct', 'inspect', join(dir, 'le.hex'), '--json']);
    assert.equal(hex.status, 0, hex.stderr);
    assert.equal(JSON.parse(hex.stdout).mrSigner, expected['intel-le-prod-css_sgx-2.25.bin'].mrsigner);
    const bad = Uint8Array.from(raw);
    bad[1026] ^= 1; // ISVSVN 7 → 6: a downgrade the signature must catch
    writeFileSync(join(dir, 'bad.sig'), bad);
    const r = runCli(['sigstruct', 'inspect', join(dir, 'bad.sig'), '--json']);
    assert.equal(r.status, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.signatureValid, false);
    assert.equal(j.isvSvn, 6);
    assert.match(j.signatureProblem, /RSA signature/);
    const h = runCli(['sigstruct', 'inspect', join(dir, 'bad.sig')]);
    assert.equal(h.status, 1);
    assert.match(h.stdout, /signature INVALID/);
    const q = Uint8Array.from(raw);
    q[1600] ^= 1;
    writeFileSync(join(dir, 'q.sig'), q);
    const qr = runCli(['sigstruct', 'inspect', join(dir, 'q.sig'), '--json']);
    assert.equal(qr.status, 1);
    assert.deepEqual([JSON.parse(qr.stdout).signatureValid, JSON.parse(qr.stdout).q1q2Valid], [false, false]);
  });
});

test('sigstruct inspect: several SDK metadata blocks are all printed; exit 1 when they disagree', () => {
  withDir((dir) => {
    const a = fixtureBytes(LE);
    const b = fixtureBytes('sigstruct/intel-le-prod-css_sgx-1.7.bin');
    writeFileSync(join(dir, 'same.so'), buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(a, 2, 4), metadataBlock(a, 2, 1), metadataBlock(a, 1, 4)]) }]));
    const s = runCli(['sigstruct', 'inspect', join(dir, 'same.so'), '--json']);
    assert.equal(s.status, 0, s.stderr);
    const sj = JSON.parse(s.stdout);
    assert.equal(sj.blocksAgree, true);
    // A synthetic ELF has no segments or layout: MRENCLAVE cannot be rebuilt, which is reported, not fatal.
    assert.equal(sj.mrEnclaveMatches, null);
    assert.match(sj.measureProblem, /ERR_SDK_LAYOUT/);
    assert.deepEqual(sj.blocks.map((x: { metadataVersion: string }) => x.metadataVersion), ['2.4', '2.1', '1.4']);
    writeFileSync(join(dir, 'multi.so'), buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(a, 2, 1), metadataBlock(b, 1, 4)]) }]));
    const m = runCli(['sigstruct', 'inspect', join(dir, 'multi.so'), '--json']);
    assert.equal(m.status, 1);
    const mj = JSON.parse(m.stdout);
    assert.equal(mj.blocksAgree, false);
    assert.deepEqual(mj.blocks.map((x: { isvSvn: number; signatureValid: boolean }) => [x.isvSvn, x.signatureValid]), [[7, true], [1, true]]);
    const mh = runCli(['sigstruct', 'inspect', join(dir, 'multi.so')]);
    assert.equal(mh.status, 1);
    assert.match(mh.stdout, /2 metadata blocks \(2\.1, 1\.4\): SIGSTRUCTs DIFFER/);
  });
});

test('sigstruct inspect: no SIGSTRUCT exits 1 with the error code; bad usage exits 2', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'junk'), 'not an enclave');
    const junk = runCli(['sigstruct', 'inspect', join(dir, 'junk'), '--json']);
    assert.equal(junk.status, 1);
    assert.equal(JSON.parse(junk.stdout).error.code, 'ERR_ENCLAVE_FORMAT');
    writeFileSync(join(dir, 'plain.so'), buildElf([{ name: '.text', data: new Uint8Array(16) }]));
    const plain = runCli(['sigstruct', 'inspect', join(dir, 'plain.so')]);
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /ERR_ENCLAVE_UNSIGNED/);
    const missing = runCli(['sigstruct', 'inspect', join(dir, 'missing')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read enclave file/);
  });
  assert.equal(runCli(['sigstruct', 'inspect']).status, 2);
  assert.equal(runCli(['sigstruct', 'inspect', fixturePath(LE), '--bogus']).status, 2);
  const help = runCli(['sigstruct', 'inspect', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--json/);
});

test('sgxs measure: MRENCLAVE of the vector, JSON, malformed stream exits 1, bad usage exits 2', () => {
  const path = fixturePath('sigstruct/fortanix-test_enclave.sgxs');
  const r = runCli(['sgxs', 'measure', path]);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, `${expected['fortanix-test_enclave.sgxs'].sha256_of_file_equals_mrenclave}\n`);
  const j = runCli(['sgxs', 'measure', path, '--json']);
  assert.equal(j.status, 0);
  assert.deepEqual(JSON.parse(j.stdout), {
    mrEnclave: expected['fortanix-test_enclave.sig'].mrenclave_enclavehash,
    pages: 9,
    measuredChunks: 144,
    size: '0x40000',
    ssaFrameSize: 1,
    canonical: true,
  });
  const bad = runCli(['sgxs', 'measure', fixturePath('sigstruct/fortanix-test_enclave.sig')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ERR_SGXS_FORMAT: .sgxs stream does not start with an ECREATE block at offset 0/);
  const badJson = runCli(['sgxs', 'measure', fixturePath('sigstruct/fortanix-test_enclave.sig'), '--json']);
  assert.equal(JSON.parse(badJson.stdout).error.code, 'ERR_SGXS_FORMAT');
  const withSig = runCli(['sgxs', 'measure', path, '--sig', fixturePath('sigstruct/fortanix-test_enclave.sig'), '--json']);
  assert.equal(withSig.status, 0, withSig.stderr);
  assert.deepEqual(JSON.parse(withSig.stdout).sigstruct, { mrEnclave: expected['fortanix-test_enclave.sig'].mrenclave_enclavehash, matches: true, signatureValid: true });
  const otherSig = runCli(['sgxs', 'measure', path, '--sig', fixturePath(LE)]);
  assert.equal(otherSig.status, 1);
  assert.match(otherSig.stderr, /ENCLAVEHASH 7881af9f.* differs from the measured MRENCLAVE/);
  assert.equal(runCli(['sgxs', 'measure', path, '--sig', fixturePath('sigstruct/nope.sig')]).status, 2);
  assert.equal(runCli(['sgxs', 'measure', fixturePath('sigstruct/nope.sgxs')]).status, 2);
  assert.equal(runCli(['sgxs', 'measure']).status, 2);
});
