// Stands in for nothing: the service under test runs in-process over HTTPS on 127.0.0.1 (test CA), and the real
// @azure/attestation client talks to it from a child process (NODE_EXTRA_CA_CERTS, TLS checks on).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { REAL_CASE, request, startService, type Running, runAzureClient } from './helpers/harness.js';
import { DEFAULT_POLICIES } from '../../src/policy/index.js';

const P1 = DEFAULT_POLICIES.SgxEnclave;
import { MemoryStore } from '../../support/memory-store.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { startPostgres } from '../helpers/postgres.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttestationStore } from '../../src/attestation/index.js';
import { policyHash } from '../../src/attestation/index.js';


const runClient = runAzureClient;

function decode(token: string): { header: any; payload: any } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()) };
}

type AuditReader = AttestationStore & { queryAudit(q: { limit?: number; tokenId?: string }): Promise<{ tokenId: string | null; decision: string; mrEnclave: string | null; tcbStatus: string | null; clientAddress: string }[]> };

/** The same suite on every backend: the in-memory stand-in, SQLite and PostgreSQL (src/store). */
const backends: [string, () => Promise<{ store: AuditReader; cleanup(): Promise<void> }>][] = [
  ['memory', async () => ({ store: new MemoryStore() as unknown as AuditReader, cleanup: async () => undefined })],
  ['sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confkube-svc-sqlite-'));
    const store = (await openServiceStore(`sqlite:${join(dir, 'db.sqlite')}`)) as AuditReader;
    return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }],
  ['postgres', async () => {
    const pg = await startPostgres();
    const store = (await openServiceStore(pg.url)) as AuditReader;
    return { store, cleanup: async () => { await store.close(); await pg.stop(); } };
  }],
];

for (const [backend, make] of backends) describe(`attestation service on ${backend}`, () => {
let svc: Running;
let store: AuditReader;
let cleanup: () => Promise<void>;
before(async () => {
  ({ store, cleanup } = await make());
  svc = await startService({ store });
});
after(async () => {
  await svc.stop();
  await cleanup();
});

test('the real @azure/attestation client attests a real DCAP quote, reads signers and OpenID metadata, and manages the policy', async () => {
  const permitDebugFalse = 'version=1.0; authorizationrules{c:[type=="x-ms-sgx-is-debuggable", value==false] => permit();}; issuancerules{c:[type=="x-ms-sgx-mrsigner"] => issue(type="signer", value=c.value);};';
  const [attest, signers, openid, get1, set, attest2, get2, reset, get3, draft] = await runClient(svc, [
    { op: 'attest', quote: REAL_CASE.quote },
    { op: 'signers' },
    { op: 'openid' },
    { op: 'getPolicy' },
    { op: 'setPolicy', policy: permitDebugFalse },
    { op: 'attest', quote: REAL_CASE.quote },
    { op: 'getPolicy' },
    { op: 'resetPolicy' },
    { op: 'getPolicy' },
    { op: 'attest', quote: REAL_CASE.quote, draft: 'version=1.0; authorizationrules{=> permit();};' },
  ]);
  assert.equal(attest.ok, true, attest.message);
  assert.equal(attest.mrenclave, 'a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd');
  assert.equal(attest.mrsigner, '8f2dbc0f9c5d3378d596974b2deed1f93223cc49242899f83809bcc92546132c');
  assert.equal(attest.debuggable, false);
  assert.equal(attest.svn, 0);
  assert.equal(attest.issuer, svc.url);
  assert.equal(attest.verifierType, 'sgx');
  assert.equal(attest.version, '1.0');
  assert.equal(attest.alg, 'RS256');
  const t = decode(attest.token).payload;
  assert.equal(t['x-ms-sgx-tcb-status'], 'SWHardeningNeeded');
  assert.deepEqual(t['x-ms-sgx-advisory-ids'], ['INTEL-SA-00615']);
  assert.equal(t['x-ms-sgx-is-simulated'], false);
  assert.equal(t['x-ms-policy-hash'], 'bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw', 'P1 default hashes as on real MAA');
  assert.equal(t.tee, 'sgx');
  assert.equal(t['x-ms-sgx-collateral'].quotehash, createHash('sha256').update(readFileSync(REAL_CASE.quote)).digest('hex'));
  assert.equal(t.exp - t.iat, 28800);
  assert.ok(Math.abs(t.iat - Date.now() / 1000) < 600, 'tokens are issued at the service clock, quotes verified at the case time');

  assert.equal(signers.ok, true, signers.message);
  assert.equal(signers.signers.length, 1);
  assert.equal(openid.ok, true);
  assert.equal(openid.metadata.issuer, svc.url);
  assert.equal(openid.metadata.jwks_uri, `${svc.url}/certs`);

  assert.equal(get1.ok, true, get1.message);
  assert.equal(get1.policy, P1);
  assert.equal(set.ok, true, set.message);
  assert.equal(set.resolution, 'Updated');
  assert.equal(attest2.ok, true, attest2.message);
  assert.equal(decode(attest2.token).payload['x-ms-policy-hash'], policyHash(permitDebugFalse));
  assert.equal(decode(attest2.token).payload.signer, attest.mrsigner);
  assert.equal(get2.policy, permitDebugFalse);
  assert.equal(reset.ok, true, reset.message);
  assert.equal(reset.resolution, 'Removed');
  assert.equal(get3.policy, P1);
  assert.equal(draft.ok, true, draft.message);
  assert.equal(draft.alg, 'none');
});

test('the audit record of an answered attestation is in the store, with the token id', async () => {
  const res = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url'), nonce: 'n-123' }), { 'content-type': 'application/json' });
  assert.equal(res.status, 200, res.text);
  const { header, payload } = decode(res.json().token);
  assert.equal(payload.nonce, 'n-123');
  const found = await store.queryAudit({ tokenId: payload.jti });
  assert.equal(found.length, 1);
  const rec = found[0];
  assert.equal(rec.tokenId, payload.jti);
  assert.equal(rec.decision, 'permit');
  assert.equal(rec.mrEnclave, payload['x-ms-sgx-mrenclave']);
  assert.equal(rec.tcbStatus, 'SWHardeningNeeded');
  assert.equal(rec.clientAddress, '127.0.0.1');
  assert.equal(res.headers['x-ms-maa-service-version'] !== undefined, true);
  // Gramine's rules (docs/attestation.md §Clients): header and claim types, jku, report data matches the quote.
  assert.deepEqual(Object.keys(header), ['alg', 'jku', 'kid', 'typ']);
  assert.equal(header.alg, 'RS256');
  assert.equal(header.typ, 'JWT');
  assert.equal(header.jku, `${svc.url}/certs`);
  assert.equal(typeof header.kid, 'string');
  assert.equal(payload['x-ms-ver'], '1.0');
  assert.equal(payload['x-ms-attestation-type'], 'sgx');
  assert.equal(typeof payload['x-ms-sgx-is-debuggable'], 'boolean');
  assert.equal(typeof payload['x-ms-sgx-product-id'], 'number');
  assert.equal(typeof payload['x-ms-sgx-svn'], 'number');
  assert.equal(payload['x-ms-sgx-report-data'], Buffer.from(readFileSync(REAL_CASE.quote).subarray(48 + 320, 48 + 384)).toString('hex'));
  // EGo: iss is the base URL string exactly; exp/nbf present.
  assert.equal(payload.iss, svc.url);
  assert.ok(payload.nbf <= payload.iat && payload.exp > payload.iat);
});

test('JWKS: every key is RSA with kid and x5c; the signing cert is self-signed CN=<base URL>; kid as MAA computes it', async () => {
  for (const path of ['/certs', '/certs/']) {
    const res = await request(svc, 'GET', path);
    assert.equal(res.status, 200);
    for (const k of res.json().keys) {
      assert.equal(k.kty, 'RSA');
      assert.equal(typeof k.kid, 'string');
      assert.ok(Array.isArray(k.x5c) && k.x5c.length > 0);
      const cert = new X509Certificate(Buffer.from(k.x5c[0], 'base64'));
      assert.equal(cert.subject, `CN=${svc.url}`);
      assert.equal(cert.issuer, `CN=${svc.url}`);
      assert.equal((cert.publicKey.asymmetricKeyDetails?.modulusLength), 2048);
      const pem = cert.publicKey.export({ type: 'spki', format: 'pem' }) as string;
      assert.equal(k.kid, createHash('sha256').update(pem).update(Buffer.from([0])).digest('base64'));
    }
  }
});
});
