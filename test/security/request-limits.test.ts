// Hostile request bodies against the service over HTTPS: deep JSON and oversized fields get a 4xx in the service's
// error body naming the field, never a 500 or a stack overflow blamed on another field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from '../attestation/helpers/harness.js';
import { createPlatform } from '../../src/sim/index.js';
import { startHardened } from './helpers.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest();
const platform = createPlatform({ seed: 'security-request-limits' });
let r: Awaited<ReturnType<typeof startHardened>>;

before(async () => {
  r = await startHardened({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, verifyAt: Date.now });
});
after(async () => {
  await r.stop();
});

/** A quote whose report data binds `runtime`, so the request reaches every later step. */
function bound(runtime: Buffer): string {
  return Buffer.from(platform.quote({ mrEnclave: sha('e'), mrSigner: sha('s'), reportData: sha(runtime) })).toString('base64url');
}
const post = (body: string) => request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', body, { 'content-type': 'application/json' });

test('runtime data nested 5,000 levels deep: 400 naming runtimeData.data', async () => {
  for (const deep of ['['.repeat(5000) + ']'.repeat(5000), '{"a":'.repeat(5000) + '1' + '}'.repeat(5000)]) {
    const runtime = Buffer.from(deep);
    const res = await post(`{"quote":"${bound(runtime)}","runtimeData":{"data":"${runtime.toString('base64url')}","dataType":"JSON"}}`);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error.code, 'InvalidParameter');
    assert.match(res.json().error.message, /^runtimeData\.data: JSON nested deeper than 64 levels/);
  }
  const init = Buffer.from('['.repeat(5000) + ']'.repeat(5000));
  const res = await post(`{"quote":"${bound(Buffer.from('x'))}","initTimeData":{"data":"${init.toString('base64url')}","dataType":"JSON"}}`);
  assert.equal(res.status, 400, res.text);
  assert.match(res.json().error.message, /^initTimeData\.data: JSON nested deeper/);
});

test('runtime data at the depth limit still attests', async () => {
  const runtime = Buffer.from('['.repeat(64) + ']'.repeat(64));
  const res = await post(`{"quote":"${bound(runtime)}","runtimeData":{"data":"${runtime.toString('base64url')}","dataType":"JSON"}}`);
  assert.equal(res.status, 200, res.text);
});

test('a request body nested 5,000 levels deep outside the known fields is answered, not crashed on', async () => {
  const res = await post(`{"quote":"${bound(Buffer.from('x'))}","extra":${'['.repeat(5000) + ']'.repeat(5000)}}`);
  assert.equal(res.status, 200, res.text);
});

test('oversized fields: 400 naming the field', async () => {
  const big = 'A'.repeat(64 * 1024 + 4);
  const cases: [string, string][] = [
    [JSON.stringify({ quote: big }), 'quote'],
    [JSON.stringify({ quote: 'AAAA', runtimeData: { data: big, dataType: 'Binary' } }), 'runtimeData/data'],
    [JSON.stringify({ quote: 'AAAA', initTimeData: { data: big } }), 'initTimeData/data'],
    [JSON.stringify({ quote: 'AAAA', draftPolicyForAttestation: big }), 'draftPolicyForAttestation'],
  ];
  for (const [body, field] of cases) {
    const res = await post(body);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error.code, 'InvalidParameter');
    assert.ok(res.json().error.message.includes(field), `${field}: ${res.json().error.message}`);
  }
});

test('a policy upload larger than the cap is refused with 400 InvalidPolicy', async () => {
  const { unsecuredPolicyJws } = await import('../../src/attestation/index.js');
  const text = `version=1.0; authorizationrules { => permit(); }; // ${'x'.repeat(64 * 1024)}`;
  const res = await request(r, 'PUT', '/policies/SgxEnclave?api-version=2022-08-01', unsecuredPolicyJws(text), { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json().error.code, 'InvalidPolicy');
  assert.match(res.json().error.message, /more than 65536/);
});
