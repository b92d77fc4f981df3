// The service under test runs in-process over HTTPS on 127.0.0.1 with the simulated SGX platform; this test plays
// the enclave (its RSA key in JSON runtime data) and the relying party asking for the secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { request, startService } from './helpers/harness.js';
import { createPlatform } from '../../src/sim/index.js';
import { parseReleasePolicy, releaseAllowed } from '../../src/keyrelease/index.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest();

test('secure key release: the secret is released, wrapped to the enclave key, only when the token satisfies the release policy', async () => {
  const platform = createPlatform({ seed: 'key-release-test' });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const runtime = Buffer.from(JSON.stringify({ keys: [{ kid: 'enclave-key', kty: 'RSA', key_ops: ['encrypt'], n: jwk.n, e: jwk.e }] }));
  const quote = platform.quote({ mrEnclave: sha('kr enclave'), mrSigner: sha('kr signer'), reportData: sha(runtime), isvSvn: 2, isvProdId: 1 });
  const secret = Buffer.from('s3cr3t database password');
  const policyFor = (url: string, minSvn: number) => parseReleasePolicy({
    version: '1.0.0',
    anyOf: [{ authority: url, allOf: [
      { claim: 'x-ms-sgx-mrsigner', equals: sha('kr signer').toString('hex') },
      { claim: 'x-ms-sgx-svn', greaterOrEquals: minSvn },
      { claim: 'x-ms-sgx-is-debuggable', equals: false },
    ] }],
    // The simulated platform signs this test's quotes: the key opts in explicitly.
    confkube: { allowSimulated: true },
  });
  // The authority is the service's own base URL: the keys are made once its port is known, and imported into its key store.
  const svc = await startService({
    collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now,
    releasableKeys: (url) => [{ name: 'db-password', secret, policy: policyFor(url, 2) }, { name: 'needs-svn-5', secret, policy: policyFor(url, 5) }],
  });
  const json = { 'content-type': 'application/json' };
  try {
    const att = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' } }), json);
    assert.equal(att.status, 200, att.text);
    const token = att.json().token as string;
    const rel = await request(svc, 'POST', '/keys/db-password/release?api-version=7.4', JSON.stringify({ target: token, nonce: 'n-1' }), json);
    assert.equal(rel.status, 200, rel.text);
    const { plaintext, protectedHeader } = await compactDecrypt(rel.json().value, privateKey);
    assert.deepEqual(Buffer.from(plaintext), secret);
    assert.equal(protectedHeader.alg, 'RSA-OAEP-256');
    assert.equal(protectedHeader.nonce, 'n-1');

    const denied = await request(svc, 'POST', '/keys/needs-svn-5/release', JSON.stringify({ target: token }), json);
    assert.equal(denied.status, 403, denied.text);
    assert.equal(denied.json().error.code, 'ReleaseDenied');
    const forged = token.slice(0, token.lastIndexOf('.') + 1) + 'AAAA';
    assert.equal((await request(svc, 'POST', '/keys/db-password/release', JSON.stringify({ target: forged }), json)).status, 400);
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${token.split('.')[1]}.`;
    assert.equal((await request(svc, 'POST', '/keys/db-password/release', JSON.stringify({ target: none }), json)).status, 400, 'alg none is never accepted');
    assert.equal((await request(svc, 'POST', '/keys/unknown/release', JSON.stringify({ target: token }), json)).status, 404);
    assert.equal((await request(svc, 'POST', '/keys/db-password/release', JSON.stringify({}), json)).status, 400);
    const audit = (await svc.store.queryAudit({})).reverse().filter((r) => r.attestationType.startsWith('keyrelease/'));
    assert.deepEqual(audit.map((r) => r.decision), ['permit', 'deny', 'error', 'error']);
    assert.equal(audit[0].tokenId, JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).jti);
  } finally {
    await svc.stop();
  }
});

test('release policy grammar: typed comparisons, dotted claims, authority must be the issuer, bad policies refused', () => {
  const p = parseReleasePolicy({ version: '1.0.0', anyOf: [{ authority: 'https://a.example', allOf: [{ claim: 'x-ms-sgx-is-debuggable', equals: false }, { claim: 'x-ms-runtime.tenant', equals: 'blue' }, { anyOf: [{ claim: 'x-ms-sgx-svn', greater: 3 }, { claim: 'x-ms-sgx-product-id', lessOrEquals: 1 }] }] }] });
  const claims = { iss: 'https://a.example', 'x-ms-sgx-is-debuggable': false, 'x-ms-runtime': { tenant: 'blue' }, 'x-ms-sgx-svn': 1, 'x-ms-sgx-product-id': 1 };
  assert.equal(releaseAllowed(p, claims), true);
  assert.equal(releaseAllowed(p, { ...claims, iss: 'https://b.example' }), false);
  assert.equal(releaseAllowed(p, { ...claims, 'x-ms-sgx-is-debuggable': 'false' }), false, 'no coercion');
  assert.equal(releaseAllowed(p, { ...claims, 'x-ms-sgx-product-id': 2 }), false);
  assert.equal(releaseAllowed(p, { ...claims, 'x-ms-runtime': undefined }), false, 'missing claim → false');
  for (const bad of [null, [], { version: '1.0.0' }, { version: '1.0.0', anyOf: [{ authority: 'x', allOf: [{ claim: 'a', equals: { o: 1 } }] }] }, { version: '1.0.0', anyOf: [{ authority: 'x', allOf: [{ claim: 'a', frobnicates: 1 }] }] }]) {
    assert.throws(() => parseReleasePolicy(bad), /release policy/);
  }
});
