// Generated attacks on secure key release (fast-check over the simulated SGX platform): whatever combination of
// enclave identity, debug flag, platform TCB status, nonce and key version an enclave presents, the secret is released
// exactly when every one of them is right, and then it is the secret of the version asked for.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { request, startService, type Running } from '../attestation/helpers/harness.js';
import { ADMIN, AUTH, challengeBody, GOOD, JSON_CT, nonceFor, opened, policyFor, sha } from '../attestation/helpers/enclave.js';
import { createPlatform, type SimPlatform } from '../../src/sim/index.js';

type Status = 'UpToDate' | 'OutOfDate' | 'Revoked';
interface Setup { svc: Running; platform: SimPlatform; versions: { v1: string; v2: string; v3: string }; spent: string; clock: { t: number } }

const b64 = (s: string): string => Buffer.from(s).toString('base64url');

async function setUp(status: Status): Promise<Setup> {
  const platform = createPlatform({ seed: `kr-props-${status}`, status });
  const clock = { t: Date.now() };
  const svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: () => clock.t, keyStore: true });
  const call = async (method: string, path: string, body?: object): Promise<{ version: string }> => {
    const r = await request(svc, method, path, body ? JSON.stringify(body) : undefined, body ? ADMIN : AUTH);
    assert.ok(r.status === 200 || r.status === 201, r.text);
    return r.json();
  };
  // app: v1 (old, enabled), v2 (old, disabled), v3 (current); other: a second key; gone: deleted.
  const policy = policyFor(svc.url, { allowSimulated: true }, GOOD.mrSigner, GOOD.mrEnclave);
  const v1 = (await call('PUT', '/keys/app', { secret: b64('secret v1'), releasePolicy: policy })).version;
  const v2 = (await call('POST', '/keys/app/rotate', { secret: b64('secret v2') })).version;
  const v3 = (await call('POST', '/keys/app/rotate', { secret: b64('secret v3') })).version;
  await call('PATCH', `/keys/app/${v2}`, { attributes: { enabled: false } });
  await call('PUT', '/keys/other', { generateBytes: 32, releasePolicy: policy });
  await call('PUT', '/keys/gone', { generateBytes: 32, releasePolicy: policy });
  await call('DELETE', '/keys/gone');
  // A nonce already presented once with a good quote: never accepted again.
  const spent = await nonceFor(svc, 'app');
  await request(svc, 'POST', '/keys/app/release', challengeBody(platform, spent), JSON_CT);
  return { svc, platform, versions: { v1, v2, v3 }, spent, clock };
}

const setups = new Map<Status, Setup>();
after(async () => {
  for (const s of setups.values()) await s.svc.stop();
});

const attempt = fc.record({
  status: fc.constantFrom<Status>('UpToDate', 'UpToDate', 'OutOfDate', 'Revoked'),
  mrEnclave: fc.constantFrom('right', 'right', 'wrong'),
  mrSigner: fc.constantFrom('right', 'right', 'wrong'),
  debug: fc.boolean(),
  nonce: fc.constantFrom('fresh', 'fresh', 'spent', 'other-key', 'made-up'),
  target: fc.constantFrom('current', 'current', 'v1', 'v3', 'v2-disabled', 'deleted-key', 'unknown-version'),
});

test('challenge–response: released exactly when enclave, signer, debug, TCB status, nonce and version are all right', async () => {
  for (const s of ['UpToDate', 'OutOfDate', 'Revoked'] as const) setups.set(s, await setUp(s));
  await fc.assert(fc.asyncProperty(attempt, async (a) => {
    const s = setups.get(a.status)!;
    const name = a.target === 'deleted-key' ? 'gone' : 'app';
    const version = { current: null, v1: s.versions.v1, v3: s.versions.v3, 'v2-disabled': s.versions.v2, 'deleted-key': null, 'unknown-version': 'e'.repeat(32) }[a.target];
    const nonce = a.nonce === 'fresh' ? await nonceFor(s.svc, 'app') : a.nonce === 'spent' ? s.spent : a.nonce === 'other-key' ? await nonceFor(s.svc, 'other') : b64(`made up ${Math.random()}`);
    const body = challengeBody(s.platform, nonce, {
      mrEnclave: a.mrEnclave === 'right' ? GOOD.mrEnclave : sha('another enclave'),
      mrSigner: a.mrSigner === 'right' ? GOOD.mrSigner : sha('another signer'),
      debug: a.debug,
    });
    const r = await request(s.svc, 'POST', `/keys/${name}${version ? `/${version}` : ''}/release`, body, JSON_CT);
    const missing = a.target === 'deleted-key' || a.target === 'unknown-version';
    const good = a.status === 'UpToDate' && a.mrEnclave === 'right' && a.mrSigner === 'right' && !a.debug && a.nonce === 'fresh' && !missing && a.target !== 'v2-disabled';
    if (good) {
      const { secret, header } = await opened(r);
      const want = a.target === 'v1' ? 'v1' : 'v3';
      assert.equal(secret.toString(), `secret ${want}`);
      assert.equal(header['x-confkube-key-version'], s.versions[want]);
      assert.equal(header.nonce, nonce);
    } else {
      assert.equal(r.status, missing ? 404 : 403, `${JSON.stringify(a)}: ${r.text}`);
      assert.equal(r.json().error.code, missing ? 'KeyNotFound' : 'ReleaseDenied');
    }
  }), { numRuns: 60 });
});

test('token form: a token of another issuer, or expired, or issued too long ago, is never released; rotation keeps old versions by version only while enabled', async () => {
  const s = setups.get('UpToDate') ?? await setUp('UpToDate');
  setups.set('UpToDate', s);
  const foreign = await startService({ collateral: { simulated: { rootCertDer: s.platform.rootCertDer, files: s.platform.collateralFiles() } }, now: () => s.clock.t });
  after(() => foreign.stop());
  const tokenFrom = async (svc: Running): Promise<string> => {
    const r = JSON.parse(challengeBody(s.platform, 'unused'));
    const att = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify(r), JSON_CT);
    assert.equal(att.status, 200, att.text);
    return att.json().token;
  };
  const release = (path: string, token: string) => request(s.svc, 'POST', path, JSON.stringify({ target: token }), JSON_CT);
  await fc.assert(fc.asyncProperty(
    fc.constantFrom('own', 'foreign'), fc.integer({ min: 0, max: 40_000 }), fc.constantFrom('current', 'v1', 'v2'),
    async (issuer, ageS, target) => {
      const token = await tokenFrom(issuer === 'own' ? s.svc : foreign);
      const start = s.clock.t;
      s.clock.t += ageS * 1000;
      try {
        const path = target === 'current' ? '/keys/app/release' : `/keys/app/${target === 'v1' ? s.versions.v1 : s.versions.v2}/release`;
        const r = await release(path, token);
        if (issuer === 'foreign' || ageS > 8 * 3600) assert.equal(r.status, 400, r.text); // not this service's, or expired
        else if (ageS > 300 || target === 'v2') assert.equal(r.status, 403, r.text); // older than the key allows, or a disabled version
        else assert.equal((await opened(r)).secret.toString(), target === 'v1' ? 'secret v1' : 'secret v3');
      } finally {
        s.clock.t = start;
      }
    }), { numRuns: 25 });
});
