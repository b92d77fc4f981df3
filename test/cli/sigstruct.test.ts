import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fixtureBytes, fixturePath, fixtureText } from '../helpers/fixtures.js';
import { buildElf, metadataBlock, sgxMetaNote } from '../helpers/elf.js';

const expected = JSON.parse(fixtureText('sigstruct/expected.json'));

test('sigstruct inspect --json on every vector', () => {
  for (const file of Object.keys(expected).filter((f) => !f.endsWith('.sgxs'))) {
    const r = runCli(['sigstruct', 'inspect', fixturePath(`sigstruct/${file}`), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const e = expected[file];
    assert.equal(j.source, file.endsWith('.so') ? 'sgx-sdk' : 'sigstruct');
    assert.equal(j.mrSigner, e.mrsigner);
    assert.equal(j.mrEnclave, e.mrenclave_enclavehash);
    assert.equal(j.isvProdId, e.isvprodid);
    assert.equal(j.isvSvn, e.isvsvn);
    assert.equal(j.vendor, e.vendor);
    assert.equal(j.date, e.date);
    assert.equal(j.signatureValid, true);
    assert.equal(j.attributeMask.flags, e.attributemask_flags);
    assert.equal(j.miscMask, e.miscmask);
    assert.equal(j.isvFamilyId, e.isvfamilyid);
    assert.equal(typeof j.debugSigned, 'boolean');
  }
});

test('sigstruct inspect: invalid signature exits 1, differing metadata blocks exit 1, bad usage exits 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-sig-'));
  try {
    const raw = fixtureBytes('sigstruct/intel-le-prod-css_sgx-2.25.bin');
    const bad = Uint8Array.from(raw);
    bad[1024] ^= 1;
    writeFileSync(join(dir, 'bad.sig'), bad);
    const r = runCli(['sigstruct', 'inspect', join(dir, 'bad.sig'), '--json']);
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).signatureValid, false);
    const human = runCli(['sigstruct', 'inspect', join(dir, 'bad.sig')]);
    assert.match(human.stdout, /INVALID/);
    const other = fixtureBytes('sigstruct/intel-le-prod-css_sgx-1.7.bin');
    writeFileSync(join(dir, 'multi.so'), buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(raw, 2, 1), metadataBlock(other, 1, 4)]) }]));
    const m = runCli(['sigstruct', 'inspect', join(dir, 'multi.so'), '--json']);
    assert.equal(m.status, 1);
    const mj = JSON.parse(m.stdout);
    assert.equal(mj.blocks.length, 2);
    assert.equal(mj.blocksAgree, false);
    writeFileSync(join(dir, 'same.so'), buildElf([{ name: '.note.sgxmeta', data: sgxMetaNote([metadataBlock(raw, 2, 1), metadataBlock(raw, 1, 4)]) }]));
    const s = runCli(['sigstruct', 'inspect', join(dir, 'same.so'), '--json']);
    assert.equal(s.status, 0);
    assert.equal(JSON.parse(s.stdout).blocksAgree, true);
    writeFileSync(join(dir, 'junk'), 'not an enclave');
    const junk = runCli(['sigstruct', 'inspect', join(dir, 'junk'), '--json']);
    assert.equal(junk.status, 1);
    assert.equal(JSON.parse(junk.stdout).error.code, 'ERR_ENCLAVE_FORMAT');
    assert.equal(runCli(['sigstruct', 'inspect', join(dir, 'missing')]).status, 2);
    assert.equal(runCli(['sigstruct', 'inspect']).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sgxs measure prints the MRENCLAVE', () => {
  const r = runCli(['sgxs', 'measure', fixturePath('sigstruct/fortanix-test_enclave.sgxs')]);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), expected['fortanix-test_enclave.sgxs'].sha256_of_file_equals_mrenclave);
  const j = runCli(['sgxs', 'measure', fixturePath('sigstruct/fortanix-test_enclave.sgxs'), '--json']);
  assert.equal(JSON.parse(j.stdout).pages, 9);
  const bad = runCli(['sgxs', 'measure', fixturePath('sigstruct/fortanix-test_enclave.sig')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /ERR_SGXS_FORMAT/);
});
