// Tokens of another attestation service (`--trusted-issuer URL=JWKS`) in the token form of key release: released only
// when the token verifies under that issuer's own keys, names that issuer, is in date, and the key's policy names it
// as an authority; the TCB status such tokens lack is left to the issuer only where the key says so. The claims are
// those of a recorded Azure Attestation token (test/fixtures/keyrelease/README.md), re-signed by a test issuer.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { request, startService, testKeyProtector, type Running } from '../attestation/helpers/harness.js';
import { ADMIN, JSON_CT, opened, enclavePrivateKey } from '../attestation/helpers/enclave.js';
import { createSigningKey, sealPurpose } from '../../src/attestation/signing-key.js';
import { parseTokenKeys, verifyToken, type TokenKeys } from '../../src/keyrelease/index.js';
import { createPublicKey } from 'node:crypto';

const ISSUER = 'https://maa.example.test';
const recorded = readFileSync(fileURLToPath(new URL('../fixtures/keyrelease/maa-sharedwus-2021-05-26.jwt', import.meta.url)), 'utf8');
const CLAIMS = JSON.parse(Buffer.from(recorded.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const enclaveJwk = createPublicKey(enclavePrivateKey).export({ format: 'jwk' });

let svc: Running;
let issuerKey: ReturnType<typeof createPrivateKey>;
let kid: string;
const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** The recorded claims, now in date, naming ISS, with the enclave's key in x-ms-runtime, signed by KEY. */
async function token(o: { iss?: string; key?: ReturnType<typeof createPrivateKey>; ageS?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000) - (o.ageS ?? 0);
  return new SignJWT({ ...CLAIMS, iss: o.iss ?? ISSUER, iat: now, nbf: now, exp: now + 28800, 'x-ms-runtime': { keys: [{ kid: 'enclave', kty: 'RSA', key_ops: ['encrypt'], n: enclaveJwk.n, e: enclaveJwk.e }] } })
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(o.key ?? issuerKey);
}

before(async () => {
  // The issuer's signing key and certificate as MAA publishes them in /certs: kid + x5c.
  const rec = await createSigningKey(ISSUER, Date.now(), testKeyProtector);
  kid = rec.kid;
  issuerKey = createPrivateKey({ key: Buffer.from(await testKeyProtector.open(rec.sealedPrivateKey, sealPurpose(rec.kid))), format: 'der', type: 'pkcs8' });
  const jwks: TokenKeys = { keys: [{ kid, x5c: [new X509Certificate(rec.certificatePem).raw.toString('base64')] }] };
  svc = await startService({ keyStore: true, now: Date.now, trustedIssuers: [{ issuer: ISSUER, jwks }] });
  const skr = (authority: string, confkube: object) => ({
    version: '1.0.0', confkube,
    anyOf: [{ authority, allOf: [{ claim: 'x-ms-sgx-mrsigner', equals: CLAIMS['x-ms-sgx-mrsigner'] }, { claim: 'x-ms-sgx-is-debuggable', equals: false }] }],
  });
  for (const [name, policy] of [['maa', skr(ISSUER, { tcbByIssuer: true })], ['maa-strict', skr(ISSUER, {})], ['own-only', skr(svc.url, { tcbByIssuer: true })]] as const) {
    const r = await request(svc, 'PUT', `/keys/${name}`, JSON.stringify({ secret: Buffer.from(`secret ${name}`).toString('base64url'), releasePolicy: policy }), ADMIN);
    assert.equal(r.status, 201, r.text);
  }
});
after(() => svc.stop());

const release = (name: string, target: string) => request(svc, 'POST', `/keys/${name}/release`, JSON.stringify({ target }), JSON_CT);

test('a trusted issuer\'s token is released to a key whose policy names that issuer and leaves the TCB to it', async () => {
  assert.equal((await opened(await release('maa', await token()))).secret.toString(), 'secret maa');
  const strict = await release('maa-strict', await token());
  assert.equal(strict.status, 403, strict.text);
  assert.match(strict.json().error.message, /TCB status null/);
  const own = await release('own-only', await token());
  assert.equal(own.status, 403, own.text);
  assert.match(own.json().error.message, /policy/);
});

test('refused: another key under the issuer\'s kid, an issuer not configured, this service\'s name on a foreign signature, expired, too old, alg none', async () => {
  for (const [what, t, status] of [
    ['impostor key', await token({ key: impostor }), 400],
    ['unknown issuer', await token({ iss: 'https://other.example.test' }), 400],
    ['own issuer, foreign key', await token({ iss: svc.url }), 400],
    ['expired', await token({ ageS: 28801 }), 400],
    ['older than 300 s', await token({ ageS: 301 }), 403],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await token()).split('.')[1]}.`, 400],
  ] as const) {
    const r = await release('maa', t);
    assert.equal(r.status, status, `${what}: ${r.text}`);
  }
});

test('JWK Set files: RSA n/e keys verify too; files without usable keys are refused at start', async () => {
  const jwk = createPublicKey(issuerKey).export({ format: 'jwk' });
  const keys = parseTokenKeys({ keys: [{ kid, kty: 'RSA', n: jwk.n, e: jwk.e }] }, 'test');
  const claims = await verifyToken(await token(), [{ issuer: `${ISSUER}/`, jwks: keys }], Math.floor(Date.now() / 1000));
  assert.equal(claims.iss, ISSUER);
  for (const bad of [null, {}, { keys: [] }, { keys: [{ kid }] }, { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }, { keys: [{ kid, x5c: [] }] }]) {
    assert.throws(() => parseTokenKeys(bad, 'jwks.json'), /jwks\.json/, JSON.stringify(bad));
  }
});
