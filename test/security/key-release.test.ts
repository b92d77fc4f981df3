// Attacks on secure key release (src/keyrelease), each shown refused: simulated evidence, an out-of-date TCB,
// an old token replayed, a nonce replayed, expired or meant for another key. The simulated SGX platform plays
// the enclave; the service's clock is the test's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { request, startService, type Running } from '../attestation/helpers/harness.js';
import { createPlatform, type SimPlatform } from '../../src/sim/index.js';
import { parseReleasePolicy, type ReleasableKey } from '../../src/keyrelease/index.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest();
const JSON_CT = { 'content-type': 'application/json' };
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = publicKey.export({ format: 'jwk' });
const SECRET = Buffer.from('database password');

/** Keys by name with the given `confkube` requirements; the authority is the service's base URL, known once it has a port. */
function keysWith(reqs: Record<string, object | undefined>): { keys: (url: string) => ReleasableKey[] } {
  const policy = (url: string, confkube: object | undefined) => parseReleasePolicy({
    version: '1.0.0', anyOf: [{ authority: url, allOf: [{ claim: 'x-ms-sgx-mrsigner', equals: sha('kr signer').toString('hex') }] }], ...(confkube ? { confkube } : {}),
  });
  return { keys: (url) => Object.entries(reqs).map(([name, c]) => ({ name, secret: SECRET, policy: policy(url, c) })) };
}

async function tokenFor(svc: Running, platform: SimPlatform, runtimeExtra: Record<string, unknown> = {}): Promise<string> {
  const runtime = Buffer.from(JSON.stringify({ keys: [{ kid: 'enclave', kty: 'RSA', key_ops: ['encrypt'], n: pub.n, e: pub.e }], ...runtimeExtra }));
  const quote = platform.quote({ mrEnclave: sha('kr enclave'), mrSigner: sha('kr signer'), reportData: sha(runtime), isvSvn: 1, isvProdId: 1 });
  const att = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' } }), JSON_CT);
  assert.equal(att.status, 200, att.text);
  return att.json().token;
}

const release = (svc: Running, name: string, token: string) => request(svc, 'POST', `/keys/${name}/release?api-version=7.4`, JSON.stringify({ target: token }), JSON_CT);
async function denied(res: Promise<{ status: number; text: string; json: () => { error: { code: string; message: string } } }>, re: RegExp): Promise<void> {
  const r = await res;
  assert.equal(r.status, 403, r.text);
  assert.equal(r.json().error.code, 'ReleaseDenied');
  assert.match(r.json().error.message, re);
}
async function released(res: Promise<{ status: number; text: string; json: () => { value: string } }>): Promise<void> {
  const r = await res;
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(Buffer.from((await compactDecrypt(r.json().value, privateKey)).plaintext), SECRET);
}

test('simulated tokens are refused unless the key allows them; the TCB must be UpToDate unless the key names other statuses', async () => {
  const upToDate = createPlatform({ seed: 'kr-sec-uptodate' });
  const { keys } = keysWith({ strict: undefined, 'sim-ok': { allowSimulated: true }, 'sim-outofdate-ok': { allowSimulated: true, tcbStatuses: ['UpToDate', 'OutOfDate'] } });
  let svc = await startService({ collateral: { simulated: { rootCertDer: upToDate.rootCertDer, files: upToDate.collateralFiles() } }, now: Date.now, releasableKeys: keys });
  try {
    const token = await tokenFor(svc, upToDate);
    await denied(release(svc, 'strict', token), /simulated SGX platform/);
    await released(release(svc, 'sim-ok', token));
  } finally {
    await svc.stop();
  }
  const outOfDate = createPlatform({ seed: 'kr-sec-outofdate', status: 'OutOfDate' });
  svc = await startService({ collateral: { simulated: { rootCertDer: outOfDate.rootCertDer, files: outOfDate.collateralFiles() } }, now: Date.now, releasableKeys: keys });
  try {
    const token = await tokenFor(svc, outOfDate);
    await denied(release(svc, 'sim-ok', token), /TCB status "OutOfDate" is not one of UpToDate/);
    await released(release(svc, 'sim-outofdate-ok', token));
  } finally {
    await svc.stop();
  }
});

test('a token older than the key\'s maximum age is refused (default 300 s), though still within its 8 h life', async () => {
  const platform = createPlatform({ seed: 'kr-sec-age' });
  const { keys } = keysWith({ 'default-age': { allowSimulated: true }, 'one-hour': { allowSimulated: true, maxTokenAgeSeconds: 3600 } });
  let clock = Date.now();
  const svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: () => clock, releasableKeys: keys });
  try {
    const token = await tokenFor(svc, platform);
    await released(release(svc, 'default-age', token));
    clock += 301_000;
    await denied(release(svc, 'default-age', token), /issued 301 s ago, more than 300 s/);
    await released(release(svc, 'one-hour', token));
  } finally {
    await svc.stop();
  }
});

test('challenge–response: the release needs a fresh nonce from the service bound in the enclave\'s runtime data, once, for this key, before it expires', async () => {
  const platform = createPlatform({ seed: 'kr-sec-nonce' });
  const { keys } = keysWith({ challenged: { allowSimulated: true, nonce: 'required' }, other: { allowSimulated: true, nonce: 'required' } });
  let clock = Date.now();
  const svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: () => clock, releasableKeys: keys });
  const nonceFor = async (name: string): Promise<string> => {
    const r = await request(svc, 'POST', `/keys/${name}/nonce?api-version=7.4`, undefined);
    assert.equal(r.status, 200, r.text);
    assert.ok(Date.parse(r.json().expiresOn) > clock);
    return r.json().nonce;
  };
  try {
    await denied(release(svc, 'challenged', await tokenFor(svc, platform)), /requires a nonce/);
    await denied(release(svc, 'challenged', await tokenFor(svc, platform, { nonce: 'made-up-by-the-caller' })), /unknown, expired, already used/);
    const good = await tokenFor(svc, platform, { nonce: await nonceFor('challenged') });
    await released(release(svc, 'challenged', good));
    await denied(release(svc, 'challenged', good), /already used/);
    await denied(release(svc, 'challenged', await tokenFor(svc, platform, { nonce: await nonceFor('other') })), /issued for another key/);
    const late = await tokenFor(svc, platform, { nonce: await nonceFor('challenged') });
    clock += 121_000;
    await denied(release(svc, 'challenged', late), /expired/);
    assert.equal((await request(svc, 'POST', '/keys/nope/nonce', undefined)).status, 404);
  } finally {
    await svc.stop();
  }
});

test('release requirements in the policy file are checked when the policy is read', () => {
  const base = { version: '1.0.0', anyOf: [{ authority: 'https://a.example', allOf: [{ claim: 'x', equals: 1 }] }] };
  assert.deepEqual(parseReleasePolicy(base).confkube, { allowSimulated: false, allowDebug: false, tcbByIssuer: false, tcbStatuses: ['UpToDate'], maxTokenAgeSeconds: 300, nonce: 'off' });
  for (const confkube of [{ allowSimulated: 'yes' }, { allowDebug: 1 }, { tcbStatuses: [] }, { tcbStatuses: ['Fine'] }, { maxTokenAgeSeconds: 0 }, { maxTokenAgeSeconds: 1e9 }, { nonce: 'sometimes' }, { allowsimulated: true }, []]) {
    assert.throws(() => parseReleasePolicy({ ...base, confkube }), /confkube section/, JSON.stringify(confkube));
  }
});
