// Policy JWS verification (src/attestation/policy-jws.ts) against real signatures made here by jose and
// node:crypto, for every algorithm a policy-management certificate may sign with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSign, constants } from 'node:crypto';
import { parseJws, POLICY_JWS_ALGORITHMS } from '../../src/attestation/policy-jws.js';
import { AttestationError } from '../../src/attestation/errors.js';
import { ALL_ALGS, makeSigner, policyPayload, signJws } from './helpers/signers.js';

const NOW = Date.now();
const rejects = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => e instanceof AttestationError && e.status === 400 && re.test(e.message));
};

test('every algorithm the service accepts is exercised here', () => {
  assert.deepEqual([...POLICY_JWS_ALGORITHMS].sort(), [...ALL_ALGS].sort());
});

for (const alg of ALL_ALGS) {
  test(`${alg}: a real signature verifies; a tampered payload and a signature by another key do not`, async () => {
    const s = await makeSigner(alg);
    const jws = await signJws(s, policyPayload('version=1.0; authorizationrules{=> permit();}; issuancerules{};'));
    const parsed = await parseJws(jws, 'policy', NOW);
    assert.equal(parsed.signer?.toString().trim(), s.certPem.trim());
    const [h, , sig] = jws.split('.');
    const other = Buffer.from(policyPayload('version=1.0; authorizationrules{=> deny();}; issuancerules{};')).toString('base64url');
    await rejects(parseJws(`${h}.${other}.${sig}`, 'policy', NOW), /does not verify/);
    // Signed by another key of the same kind, presenting the first certificate.
    const forger = await makeSigner(alg);
    const forged = await signJws(forger, policyPayload('x'), { x5c: [s.certB64] });
    await rejects(parseJws(forged, 'policy', NOW), /does not verify/);
  });
}

test('PSS salt is the hash length (RFC 7518 §3.5): node:crypto signatures with salt 48/64 verify, salt 32 under PS384/PS512 does not', async () => {
  const s = await makeSigner('PS384');
  for (const [alg, hash, salt, ok] of [['PS384', 'sha384', 48, true], ['PS512', 'sha512', 64, true], ['PS384', 'sha384', 32, false], ['PS512', 'sha512', 32, false]] as const) {
    const h = Buffer.from(JSON.stringify({ alg, x5c: [s.certB64] })).toString('base64url');
    const p = Buffer.from(policyPayload('version=1.0; authorizationrules{=> permit();}; issuancerules{};')).toString('base64url');
    const sig = createSign(hash).update(`${h}.${p}`).sign({ key: s.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt }).toString('base64url');
    if (ok) assert.ok((await parseJws(`${h}.${p}.${sig}`, 'policy', NOW)).signer, `${alg} salt ${salt}`);
    else await rejects(parseJws(`${h}.${p}.${sig}`, 'policy', NOW), /does not verify/);
  }
});

test('the Microsoft docs sample alg "RSA256" is RS256; alg/key mismatches and unknown algs are refused', async () => {
  const rsa = await makeSigner('RS256');
  const h = Buffer.from(JSON.stringify({ alg: 'RSA256', x5c: [rsa.certB64] })).toString('base64url');
  const p = Buffer.from(policyPayload('version=1.0; authorizationrules{=> permit();}; issuancerules{};')).toString('base64url');
  const sig = createSign('sha256').update(`${h}.${p}`).sign(rsa.key).toString('base64url');
  assert.ok((await parseJws(`${h}.${p}.${sig}`, 'policy', NOW)).signer);
  await rejects(parseJws(`${h}.${p}.${sig.slice(0, -4)}AAAA`, 'policy', NOW), /does not verify/);
  const p256 = await makeSigner('ES256');
  // An ES384 header over a P-256 key, and an RS256 header over an EC key.
  const es = await signJws(p256, 'x');
  const [, ep, esig] = es.split('.');
  await rejects(parseJws(`${Buffer.from(JSON.stringify({ alg: 'ES384', x5c: [p256.certB64] })).toString('base64url')}.${ep}.${esig}`, 'policy', NOW), /ES384|cannot be checked|does not verify/);
  await rejects(parseJws(`${Buffer.from(JSON.stringify({ alg: 'RS256', x5c: [p256.certB64] })).toString('base64url')}.${ep}.${esig}`, 'policy', NOW), /cannot be checked|does not verify/);
  for (const alg of ['HS256', 'EdDSA', 'RS1', null]) {
    await rejects(parseJws(`${Buffer.from(JSON.stringify({ alg, x5c: [rsa.certB64] })).toString('base64url')}.${p}.${sig}`, 'policy', NOW), /unsupported alg/);
  }
});

test('signer certificates outside their validity are refused', async () => {
  const expired = await makeSigner('RS256', { notBefore: new Date(NOW - 10 * 86400_000), notAfter: new Date(NOW - 86400_000) });
  await rejects(parseJws(await signJws(expired, policyPayload('x')), 'policy', NOW), /expired at/);
  const future = await makeSigner('ES256', { notBefore: new Date(NOW + 86400_000), notAfter: new Date(NOW + 10 * 86400_000) });
  await rejects(parseJws(await signJws(future, policyPayload('x')), 'policy', NOW), /not valid before/);
});
