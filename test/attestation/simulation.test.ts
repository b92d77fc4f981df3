// The service under test runs in-process over HTTPS on 127.0.0.1; the simulated SGX platform (src/sim) makes the
// quotes. The real @azure/attestation client attests one from a child process (NODE_EXTRA_CA_CERTS, TLS on).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { request, startService, runAzureClient } from './helpers/harness.js';
import { createPlatform } from '../../src/sim/index.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest();

const runClient = runAzureClient;

test('simulation mode: a simulated quote attests, its token says so; with simulation off the same quote is refused', async () => {
  const platform = createPlatform({ seed: 'attestation-service-test' });
  const runtime = Buffer.from('{"jwk":{"kty":"EC","crv":"P-256"}}');
  const quote = platform.quote({ mrEnclave: sha('enclave'), mrSigner: sha('signer'), reportData: sha(runtime), isvProdId: 3, isvSvn: 7 });
  const dir = mkdtempSync(join(tmpdir(), 'confkube-simq-'));
  writeFileSync(join(dir, 'quote.bin'), quote);
  const warnings: string[] = [];
  const on = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now, warn: (m) => warnings.push(m) });
  const offWarnings: string[] = [];
  const off = await startService({ warn: (m) => offWarnings.push(m) });
  assert.equal(warnings.filter((w) => /simulation mode is ON/.test(w)).length, 1, 'a warning at start');
  assert.deepEqual(offWarnings.filter((w) => /simulation/.test(w)), [], 'simulation is off unless turned on');
  try {
    const [a] = await runClient(on, [{ op: 'attest', quote: join(dir, 'quote.bin'), runtime: runtime.toString('hex') }]);
    assert.equal(a.ok, true, a.message);
    assert.equal(a.mrenclave, sha('enclave').toString('hex'));
    assert.equal(a.svn, 7);
    assert.equal(a.productId, 3);
    assert.equal(a.ehd, runtime.toString('hex'));
    const claims = JSON.parse(Buffer.from(a.token.split('.')[1], 'base64url').toString());
    assert.equal(claims['x-ms-sgx-is-simulated'], true);
    assert.equal(claims['x-ms-sgx-tcb-status'], 'UpToDate');
    assert.equal(claims['x-ms-sgx-ehd'], runtime.toString('base64url'), 'EGo decodes with RawURLEncoding: no padding');
    const refused = await request(off, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: Buffer.from(quote).toString('base64url') }), { 'content-type': 'application/json' });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json().error.code, 'QuoteVerificationFailed');
  } finally {
    await on.stop();
    await off.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('simulated Ice Lake claims: JSON runtime and init-time data become x-ms-runtime / x-ms-inittime, bound to REPORTDATA and CONFIGID; nonce only from 2022-08-01', async () => {
  const platform = createPlatform({ seed: 'attestation-service-kss' });
  const runtime = Buffer.from(JSON.stringify({ keys: [{ kid: 'k1', kty: 'RSA', key_ops: ['encrypt'], n: 'AQAB', e: 'AQAB' }] }));
  const initTime = Buffer.from(JSON.stringify({ tenant: 'blue' }));
  const quote = platform.quote({
    mrEnclave: sha('kss enclave'), mrSigner: sha('kss signer'), reportData: sha(runtime),
    configId: new Uint8Array([...sha(initTime), ...new Uint8Array(32).fill(7)]), configSvn: 2,
    isvFamilyId: new Uint8Array(16).fill(0xab), isvExtProdId: new Uint8Array(16).fill(0xcd),
  });
  const svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now });
  const post = (body: object, v = '2022-08-01') => request(svc, 'POST', `/attest/SgxEnclave?api-version=${v}`, JSON.stringify(body), { 'content-type': 'application/json' });
  const q = Buffer.from(quote).toString('base64url');
  try {
    const ok = await post({ quote: q, runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' }, initTimeData: { data: initTime.toString('base64url'), dataType: 'JSON' }, nonce: 'n1' });
    assert.equal(ok.status, 200, ok.text);
    const c = JSON.parse(Buffer.from(ok.json().token.split('.')[1], 'base64url').toString());
    assert.equal(c['x-ms-runtime'].keys[0].kid, 'k1');
    assert.equal(c['x-ms-sgx-ehd'], undefined, 'JSON runtime data: no x-ms-sgx-ehd (docs/attestation.md §Evidence binding)');
    assert.deepEqual(c['x-ms-inittime'], { tenant: 'blue' });
    assert.equal(c['x-ms-sgx-config-id'], Buffer.from([...sha(initTime), ...new Uint8Array(32).fill(7)]).toString('hex'));
    assert.equal(c['x-ms-sgx-config-svn'], 2);
    assert.equal(c['x-ms-sgx-isv-family-id'], 'ab'.repeat(16));
    assert.equal(c['x-ms-sgx-isv-extended-product-id'], 'cd'.repeat(16));
    assert.equal(c.nonce, 'n1');
    const old = await post({ quote: q, nonce: 'n1' }, '2020-10-01');
    assert.equal(JSON.parse(Buffer.from(old.json().token.split('.')[1], 'base64url').toString()).nonce, undefined);
    const wrongInit = await post({ quote: q, initTimeData: { data: Buffer.from('{"tenant":"red"}').toString('base64url'), dataType: 'JSON' } });
    assert.equal(wrongInit.status, 400);
    assert.equal(wrongInit.json().error.code, 'InitTimeDataMismatch');
  } finally {
    await svc.stop();
  }
});
