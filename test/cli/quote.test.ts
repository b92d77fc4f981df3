import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { dcapCases, fixtureBytes, fixturePath } from '../helpers/fixtures.js';

const cases = dcapCases();

test('quote inspect --json gives the fields of cases.json, from raw, hex and base64url files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-cli-'));
  try {
    const c = cases.find((x) => x.id === 'automata_2025-08')!;
    const raw = fixtureBytes(`dcap/${c.quote}`);
    const files = {
      raw: fixturePath(`dcap/${c.quote}`),
      hex: join(dir, 'q.hex'),
      b64u: join(dir, 'q.b64'),
    };
    writeFileSync(files.hex, Buffer.from(raw).toString('hex').toUpperCase() + '\n');
    writeFileSync(files.b64u, Buffer.from(raw).toString('base64url'));
    for (const f of Object.values(files)) {
      const r = runCli(['quote', 'inspect', f, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.version, 3);
      assert.equal(j.qeSvn, c.fields.header.qe_svn);
      assert.equal(j.qeVendorId, c.fields.header.qe_vendor_id);
      assert.equal(j.userData, c.fields.header.user_data);
      assert.equal(j.report.mrEnclave, c.fields.report.mrenclave);
      assert.equal(j.report.mrSigner, c.fields.report.mrsigner);
      assert.equal(j.report.attributes.flags + j.report.attributes.xfrm, c.fields.report.attributes);
      assert.equal(j.report.attributes.debug, false);
      assert.equal(j.qeReport.isvSvn, c.fields.qe_report.isvsvn);
      assert.deepEqual(j.certificationData, { type: 5, size: c.fields.signature_data.cert_data_len, certificates: 3 });
      assert.equal(j.pck.fmspc, c.fields.pck_sgx_extensions.fmspc);
      assert.deepEqual(j.pck.tcbComponents, c.fields.pck_sgx_extensions.tcb_components);
      assert.equal(j.pck.ppid, c.fields.pck_sgx_extensions.ppid);
      assert.equal(j.trailingBytes, 0);
    }
    writeFileSync(join(dir, 'bad.bin'), raw.subarray(0, 700));
    const bad = runCli(['quote', 'inspect', join(dir, 'bad.bin'), '--json']);
    assert.equal(bad.status, 1);
    assert.equal(JSON.parse(bad.stdout).error.code, 'ERR_QUOTE_TRUNCATED');
    assert.equal(runCli(['quote', 'inspect', join(dir, 'missing.bin')]).status, 2);
    assert.equal(runCli(['quote', 'inspect']).status, 2);
    assert.equal(runCli(['quote', 'inspect', '--help']).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const c of cases.filter((x) => x.kind === 'full')) {
  const forms: [string, string][] = [];
  if (!c.collateral![0].endsWith('.json')) forms.push(['directory', c.collateral![0].replace(/\/$/, '')]);
  if (c.collateral_bundle) forms.push(['bundle', c.collateral_bundle]);
  for (const [form, path] of forms) {
    test(`quote verify ${c.id} (${form}) gives Intel's result`, () => {
      const r = runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', fixturePath(`dcap/${path}`), '--at', String(c.verification_time), '--json']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.ok, true);
      assert.equal(v.status, c.expected.tcb_status_intel);
      assert.deepEqual(v.advisoryIds, c.expected.advisory_ids_sorted_unique);
      assert.equal(v.report.mrEnclave, (c.expected.enclave ?? c.fields.report).mrenclave);
      assert.equal(v.debug, c.fields.report.debug);
      const human = runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', fixturePath(`dcap/${path}`), '--at', c.verification_time_iso!]);
      assert.equal(human.status, 0);
      assert.match(human.stdout, new RegExp(`^AUTHENTIC: ${c.expected.tcb_status_intel} — `));
    });
  }
}

test('quote verify: rejected quotes exit 1, bad usage exits 2', () => {
  const c = cases.find((x) => x.id === 'phala_2025-06')!;
  const wrong = runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', fixturePath('dcap/bundles/zkdcap_2025-01.json'), '--at', '1737458686', '--json']);
  assert.equal(wrong.status, 1);
  assert.equal(JSON.parse(wrong.stdout).errors[0].code, 'ERR_TCB_INFO_MISMATCH');
  const partial = runCli(['quote', 'verify', fixturePath('dcap/quotes/oasis_v3.bin'), '--collateral', fixturePath('dcap/collateral/oasis_2022-12'), '--at', '1671497404']);
  assert.equal(partial.status, 1);
  assert.match(partial.stdout, /ERR_CRL_MISSING/);
  const allowed = runCli(['quote', 'verify', fixturePath('dcap/quotes/oasis_v3.bin'), '--collateral', fixturePath('dcap/collateral/oasis_2022-12'), '--at', '1671497404', '--allow-missing-crls', '--json']);
  assert.equal(allowed.status, 0);
  assert.equal(JSON.parse(allowed.stdout).status, 'SWHardeningNeeded');
  const strict = runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', fixturePath(`dcap/${c.collateral_bundle}`), '--at', '1752919279', '--strict', '--json']);
  assert.equal(strict.status, 1);
  assert.equal(runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', fixturePath(`dcap/${c.collateral_bundle}`), '--at', 'yesterday']).status, 2);
  assert.equal(runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`)]).status, 2);
  assert.equal(runCli(['quote', 'verify', fixturePath(`dcap/${c.quote}`), '--collateral', '/nonexistent']).status, 2);
});
