// The service under test runs in-process over HTTPS on 127.0.0.1; the real @azure/attestation client and jose
// run in a child process (NODE_EXTRA_CA_CERTS = the test CA, TLS checks on). Nothing stands in for a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createSign, generateKeyPairSync } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { REAL_CASE, request, startService, type Running, runAzureClient } from './helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';
import { policyHash } from '../../src/attestation/index.js';


const runClient = runAzureClient;

const q64 = readFileSync(REAL_CASE.quote).toString('base64url');
const attest = async (r: Running, body: object = { quote: q64 }) => {
  const res = await request(r, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify(body), { 'content-type': 'application/json' });
  assert.equal(res.status, 200, res.text);
  return res.json().token as string;
};
const payloadOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
const headerOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString());

async function signer(cn: string): Promise<{ keyPem: string; certPem: string; certB64: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const priv = await crypto.subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', priv);
  const pub = await crypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e }, alg, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '02', name: `CN=${cn}`, notBefore: new Date(Date.now() - 86400_000), notAfter: new Date(Date.now() + 86400_000), signingAlgorithm: alg, keys: { privateKey: priv, publicKey: pub } });
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, certPem: cert.toString('pem'), certB64: Buffer.from(cert.rawData).toString('base64') };
}

function signJws(s: { keyPem: string; certB64: string }, payload: string): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', x5c: [s.certB64] })).toString('base64url');
  const p = payload === '' ? '' : Buffer.from(payload).toString('base64url');
  const sig = createSign('sha256').update(`${h}.${p}`).sign(s.keyPem).toString('base64url');
  return `${h}.${p}.${sig}`;
}

test('key rotation: the new key signs, the old one stays in the JWKS, jose verifies both tokens through createRemoteJWKSet', async () => {
  const svc = await startService();
  try {
    const before = await attest(svc);
    const oldKid = headerOf(before).kid;
    // Activation now (one process); replicas publish a rotated key before it signs (durability.test.ts).
    await svc.svc.ctx.keyring.rotate(0);
    const after = await attest(svc);
    assert.notEqual(headerOf(after).kid, oldKid);
    const jwks = (await request(svc, 'GET', '/certs')).json();
    assert.deepEqual(new Set(jwks.keys.map((k: { kid: string }) => k.kid)), new Set([oldKid, headerOf(after).kid]));
    const [v1, v2, tampered] = await runClient(svc, [{ op: 'jose', token: before }, { op: 'jose', token: after }, { op: 'jose', token: after.slice(0, -4) + 'AAAA' }]);
    assert.equal(v1.ok, true, v1.message);
    assert.equal(v1.kid, oldKid);
    assert.equal(v2.ok, true, v2.message);
    assert.equal(v2.iss, svc.url);
    assert.equal(tampered.ok, false);
  } finally {
    await svc.stop();
  }
});

test('isolated mode: only JWS signed by a registered policy-management certificate may change policy; certificates add and remove', async () => {
  const s1 = await signer('confkube test policy signer 1');
  const s2 = await signer('confkube test policy signer 2');
  const svc = await startService({ policySigners: [s1.certPem] });
  const auth = { authorization: 'Bearer test-admin-token-0123456789abcdef' };
  try {
    const text = 'version=1.0; authorizationrules{=> permit();}; issuancerules{c:[type=="x-ms-sgx-svn"] => issue(type="isolated-svn", value=c.value);};';
    const unsigned = 'eyJhbGciOiJub25lIn0.' + Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })).toString('base64url') + '.';
    const put = (jws: string) => request(svc, 'PUT', '/policies/SgxEnclave?api-version=2020-10-01', jws, { 'content-type': 'text/plain', ...auth });
    const r0 = await put(unsigned);
    assert.equal(r0.status, 400, r0.text);
    assert.match(r0.json().error.message, /Unsigned JWS/);
    const r1 = await put(signJws(s2, JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })));
    assert.equal(r1.status, 400, 'signer 2 is not registered yet');
    // The real client signs with s1 (its JWS header carries x5c).
    const [set, got] = await runClient(svc, [{ op: 'setPolicy', policy: text, privateKey: s1.keyPem, certificate: s1.certPem }, { op: 'getPolicy' }]);
    assert.equal(set.ok, true, set.message);
    assert.equal(got.ok, true, got.message);
    assert.equal(got.policy, text, 'the admin client reads the policy back (it checks the management token by its x5c)');
    const t = payloadOf(await attest(svc));
    assert.equal(t['x-ms-policy-hash'], policyHash(text));
    assert.equal(t['isolated-svn'], 0);
    assert.equal(t['x-ms-policy-signer'].x5c[0], s1.certB64);
    // Add signer 2 (signed by signer 1), then signer 2 may write; the final certificate cannot be removed.
    const add = await request(svc, 'POST', '/certificates:add?api-version=2020-10-01', JSON.stringify(signJws(s1, JSON.stringify({ policyCertificate: { kty: 'RSA', x5c: [s2.certB64] } }))), { 'content-type': 'application/json', ...auth });
    assert.equal(add.status, 200, add.text);
    assert.equal(payloadOf(add.json().token)['x-ms-policycertificates-result'], 'IsPresent');
    const list = await request(svc, 'GET', '/certificates?api-version=2020-10-01', undefined, auth);
    assert.equal(payloadOf(list.json().token)['x-ms-policy-certificates'].keys.length, 2);
    const r2 = await put(signJws(s2, JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })));
    assert.equal(r2.status, 200, r2.text);
    const rm = (by: typeof s1, what: typeof s1) => request(svc, 'POST', '/certificates:remove?api-version=2020-10-01', JSON.stringify(signJws(by, JSON.stringify({ policyCertificate: { kty: 'RSA', x5c: [what.certB64] } }))), { 'content-type': 'application/json', ...auth });
    assert.equal((await rm(s2, s1)).status, 200);
    const last = await rm(s2, s2);
    assert.equal(last.status, 400, last.text);
    assert.match(last.json().error.message, /final policy management certificate/);
    const [reset] = await runClient(svc, [{ op: 'resetPolicy', privateKey: s2.keyPem, certificate: s2.certPem }]);
    assert.equal(reset.ok, true, reset.message);
    assert.equal(reset.resolution, 'Removed');
  } finally {
    await svc.stop();
  }
});

test('replicas sharing a store: a policy set on one applies on the other at its next poll', async () => {
  const store = new MemoryStore();
  const a = await startService({ store, policyPollMs: 50 });
  const b = await startService({ store, policyPollMs: 50 });
  try {
    assert.deepEqual((await request(a, 'GET', '/certs')).json(), (await request(b, 'GET', '/certs')).json(), 'one signing key shared through the store');
    const text = 'version=1.0; authorizationrules{=> permit();}; issuancerules{c:[type=="x-ms-sgx-svn"] => issue(type="replica", value=c.value);};';
    const jws = 'eyJhbGciOiJub25lIn0.' + Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })).toString('base64url') + '.';
    const put = await request(a, 'PUT', '/policies/SgxEnclave?api-version=2020-10-01', jws, { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
    assert.equal(put.status, 200, put.text);
    let hash = '';
    for (let i = 0; i < 100 && hash !== policyHash(text); i++) {
      await new Promise((r) => setTimeout(r, 20));
      hash = payloadOf(await attest(b))['x-ms-policy-hash'];
    }
    assert.equal(hash, policyHash(text));
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a stored policy that does not compile refuses attestations with a reason instead of stopping the service', async () => {
  const store = new MemoryStore();
  await store.setPolicy({ attestationType: 'SgxEnclave', text: 'version=9.9; garbage', jws: 'x.y.', hash: 'h', setAt: 0, setBy: 'test' });
  const svc = await startService({ store });
  try {
    const res = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: q64 }), { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(res.json().error.code, 'PolicyDenied');
    assert.match(res.json().error.message, /does not compile/);
    const reset = await request(svc, 'POST', '/policies/SgxEnclave:reset?api-version=2020-10-01', 'eyJhbGciOiJub25lIn0..', { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
    assert.equal(reset.status, 200);
    await attest(svc);
  } finally {
    await svc.stop();
  }
});

test('replicas that start together on an empty store share one signing key, so any token verifies against any JWKS', async () => {
  const store = new MemoryStore();
  const [a, b] = await Promise.all([startService({ store }), startService({ store })]);
  try {
    const kids = async (r: Running) => new Set((await request(r, 'GET', '/certs')).json().keys.map((k: { kid: string }) => k.kid));
    const ta = headerOf(await attest(a)).kid;
    const tb = headerOf(await attest(b)).kid;
    assert.equal(store.keys.length, 1);
    assert.equal(ta, tb);
    for (const r of [a, b]) {
      const published = await kids(r);
      assert.ok(published.has(ta) && published.has(tb), `${r.url} publishes ${[...published]} but tokens use ${ta} and ${tb}`);
    }
  } finally {
    await a.stop();
    await b.stop();
  }
});
