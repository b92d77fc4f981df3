// Attacks on policy management in isolated mode, each shown refused. The service runs in-process over HTTPS on
// 127.0.0.1; signers and their JWS bodies are made here (helpers/signers.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { REAL_CASE, request, startService, type Running } from '../attestation/helpers/harness.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { startPostgres } from '../helpers/postgres.js';
import { MemoryStore } from '../../support/memory-store.js';
import type { AttestationStore } from '../../src/attestation/index.js';
import { policyHash } from '../../src/attestation/index.js';
import { certPayload, makeSigner, policyPayload, signJws } from './helpers/signers.js';

const ADMIN = { authorization: 'Bearer test-admin-token-0123456789abcdef' };
const TEXT = { 'content-type': 'text/plain' };
const JSON_CT = { 'content-type': 'application/json' };
const payloadOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
const policy = (tag: string) => `version=1.0; authorizationrules{=> permit();}; issuancerules{c:[type=="x-ms-sgx-svn"] => issue(type="${tag}", value=c.value);};`;

const put = (r: Running, type: string, jws: string, auth: Record<string, string> = ADMIN) => request(r, 'PUT', `/policies/${type}?api-version=2020-10-01`, jws, { ...TEXT, ...auth });
const reset = (r: Running, type: string, jws: string) => request(r, 'POST', `/policies/${type}:reset?api-version=2020-10-01`, jws, { ...TEXT, ...ADMIN });
const certOp = (r: Running, op: 'add' | 'remove', jws: string) => request(r, 'POST', `/certificates:${op}?api-version=2020-10-01`, JSON.stringify(jws), { ...JSON_CT, ...ADMIN });
const policyInForce = async (r: Running, type = 'SgxEnclave'): Promise<string> => {
  const res = await request(r, 'GET', `/policies/${type}?api-version=2020-10-01`, undefined, ADMIN);
  assert.equal(res.status, 200, res.text);
  return payloadOf(res.json().token)['x-ms-policy'];
};
const refused = (res: { status: number; text: string; json: () => { error: { code: string; message: string } } }, re: RegExp) => {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json().error.code, 'InvalidOperation', res.text);
  assert.match(res.json().error.message, re);
};

test('isolated mode: every management call needs the admin token, reads included; a signature alone is not enough', async () => {
  const s1 = await makeSigner('RS256');
  const svc = await startService({ policySigners: [s1.certPem] });
  const noToken = await startService({ policySigners: [s1.certPem], adminTokens: [] });
  try {
    const jws = await signJws(s1, policyPayload(policy('anon')));
    for (const r of [svc, noToken]) {
      for (const [method, path, body, headers] of [
        ['GET', '/policies/SgxEnclave?api-version=2020-10-01', undefined, {}],
        ['GET', '/certificates?api-version=2020-10-01', undefined, {}],
        ['PUT', '/policies/SgxEnclave?api-version=2020-10-01', jws, TEXT],
        ['POST', '/policies/SgxEnclave:reset?api-version=2020-10-01', await signJws(s1, ''), TEXT],
        ['POST', '/certificates:add?api-version=2020-10-01', JSON.stringify(await signJws(s1, certPayload(s1))), JSON_CT],
      ] as const) {
        const res = await request(r, method, path, body, headers);
        assert.equal(res.status, 401, `${r === svc ? 'anonymous' : 'no admin token configured'}: ${method} ${path} → ${res.status} ${res.text}`);
        assert.equal(res.json().error.code, 'Unauthorized');
      }
    }
    assert.equal((await put(svc, 'SgxEnclave', jws, { authorization: 'Bearer not-the-admin-token-but-long-enough' })).status, 401);
    assert.equal((await put(noToken, 'SgxEnclave', jws, ADMIN)).status, 401, 'no token configured: management disabled');
    assert.equal((await put(svc, 'SgxEnclave', jws)).status, 200, 'the admin with a signed body may');
  } finally {
    await svc.stop();
    await noToken.stop();
  }
});

// The ledger is the store's audit log: the replay test runs on every backend.
const backends: [string, () => Promise<{ store: AttestationStore; cleanup: () => Promise<void> }>][] = [
  ['memory', async () => ({ store: new MemoryStore(), cleanup: async () => undefined })],
  ['sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'confkube-replay-'));
    const store = await openServiceStore(`sqlite:${join(dir, 'confkube.db')}`);
    return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
  }],
  ['postgres', async () => {
    const pg = await startPostgres();
    const store = await openServiceStore(pg.url);
    return { store, cleanup: async () => { await store.close(); await pg.stop(); } };
  }],
];

for (const [backend, make] of backends) test(`isolated mode on ${backend}: a signed body counts once — no replay of a GET'd, older or in-force policy, of a reset on another type, of an old certificates:add`, async () => {
  const s1 = await makeSigner('RS256');
  const s2 = await makeSigner('ES256');
  const { store, cleanup } = await make();
  const svc = await startService({ store, policySigners: [s1.certPem] });
  try {
    const a = await signJws(s1, policyPayload(policy('a')));
    assert.equal((await put(svc, 'SgxEnclave', a)).status, 200);
    const readBack = await policyInForce(svc);
    assert.equal(readBack, a, 'GET returns the stored JWS byte for byte (as MAA)');
    const b = await signJws(s1, policyPayload(policy('b')));
    assert.equal((await put(svc, 'SgxEnclave', b)).status, 200);
    refused(await put(svc, 'SgxEnclave', readBack), /already used/);
    refused(await put(svc, 'SgxEnclave', b), /already the one in force/);
    refused(await put(svc, 'OpenEnclave', b), /already used/);
    assert.equal(await policyInForce(svc), b, 'the replays changed nothing');

    // RS256 is deterministic: a signed reset (empty payload) is the same bytes for every type.
    const r = await signJws(s1, '');
    assert.equal((await reset(svc, 'OpenEnclave', r)).status, 200);
    refused(await reset(svc, 'SgxEnclave', r), /already used/);
    assert.equal(await policyInForce(svc), b, 'SgxEnclave keeps its policy');

    const add = await signJws(s1, certPayload(s2));
    assert.equal((await certOp(svc, 'add', add)).status, 200);
    // An unbound add and remove of one certificate by one RSA signer are the same bytes: the add cannot serve as a remove.
    refused(await certOp(svc, 'remove', add), /already used/);
    assert.equal((await certOp(svc, 'remove', await signJws(s2, certPayload(s2)))).status, 200, 'ECDSA signatures differ each time');
    refused(await certOp(svc, 'add', add), /already used/);
    const list = await request(svc, 'GET', '/certificates?api-version=2020-10-01', undefined, ADMIN);
    assert.deepEqual(payloadOf(list.json().token)['x-ms-policy-certificates'].keys.map((k: { x5c: string[] }) => k.x5c[0]), [s1.certB64], 'the removed signer stays removed');
    const audit = svc.store.queryAudit({ limit: 100 });
    assert.ok((await audit).some((x) => x.attestationType === 'management/certificates:remove'), 'management changes are audited');
  } finally {
    await svc.stop();
    await cleanup();
  }
});

test('isolated mode: a body bound to its operation, type and time (x-confkube-op, x-confkube-attestation-type, iat) is refused anywhere else, when stale, or when older than the policy in force', async () => {
  const s1 = await makeSigner('PS256');
  const s2 = await makeSigner('ES384');
  const svc = await startService({ policySigners: [s1.certPem] });
  try {
    const now = Math.floor(Date.now() / 1000);
    const bound = (op: string, type: string | undefined, iat: number | undefined, tag: string, payload = policyPayload(policy(tag))) =>
      signJws(s1, payload, { 'x-confkube-op': op, ...(type ? { 'x-confkube-attestation-type': type } : {}), ...(iat !== undefined ? { iat } : {}) });
    refused(await put(svc, 'OpenEnclave', await bound('policies:set', 'SgxEnclave', now, 'x1')), /signed for attestation type "SgxEnclave"/);
    refused(await put(svc, 'SgxEnclave', await bound('certificates:add', 'SgxEnclave', now, 'x2')), /signed for "certificates:add"/);
    refused(await put(svc, 'SgxEnclave', await bound('policies:set', undefined, now, 'x3')), /must also name x-confkube-attestation-type/);
    refused(await put(svc, 'SgxEnclave', await bound('policies:set', 'SgxEnclave', undefined, 'x4')), /numeric iat/);
    refused(await put(svc, 'SgxEnclave', await bound('policies:set', 'SgxEnclave', now - 3600, 'x5')), /older than 600 s/);
    refused(await put(svc, 'SgxEnclave', await bound('policies:set', 'SgxEnclave', now + 3600, 'x6')), /in the future/);
    const older = await bound('policies:set', 'SgxEnclave', now - 30, 'older');
    const newer = await bound('policies:set', 'SgxEnclave', now - 10, 'newer');
    assert.equal((await put(svc, 'SgxEnclave', newer)).status, 200);
    refused(await put(svc, 'SgxEnclave', older), /not after the policy in force/);
    assert.equal(await policyInForce(svc), newer);
    refused(await reset(svc, 'SgxEnclave', await bound('policies:reset', 'OpenEnclave', now, '', '')), /signed for attestation type "OpenEnclave"/);
    assert.equal((await reset(svc, 'SgxEnclave', await bound('policies:reset', 'SgxEnclave', now, '', ''))).status, 200);
    const addS2 = await signJws(s1, certPayload(s2), { 'x-confkube-op': 'certificates:add', iat: now });
    refused(await certOp(svc, 'remove', addS2), /signed for "certificates:add", not certificates:remove/);
    assert.equal((await certOp(svc, 'add', addS2)).status, 200);
    const list = await request(svc, 'GET', '/certificates?api-version=2020-10-01', undefined, ADMIN);
    assert.deepEqual(payloadOf(list.json().token)['x-ms-policy-certificates'].keys.map((k: { kty: string; alg: string }) => `${k.kty} ${k.alg}`), ['RSA RS256', 'EC ES384']);
  } finally {
    await svc.stop();
  }
});

test('--require-bound-signatures: an unbound signed body (what the Azure admin client sends) is refused, a bound one accepted', async () => {
  const s1 = await makeSigner('ES256');
  const svc = await startService({ policySigners: [s1.certPem], requireBoundSignatures: true });
  try {
    refused(await put(svc, 'SgxEnclave', await signJws(s1, policyPayload(policy('unbound')))), /requires signed bodies bound/);
    const bound = await signJws(s1, policyPayload(policy('bound')), { 'x-confkube-op': 'policies:set', 'x-confkube-attestation-type': 'SgxEnclave', iat: Math.floor(Date.now() / 1000) });
    assert.equal((await put(svc, 'SgxEnclave', bound)).status, 200);
  } finally {
    await svc.stop();
  }
});

test('isolated mode lives in the store: a restart without --policy-signer stays isolated (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-isolated-'));
  const s1 = await makeSigner('RS256');
  const unsigned = `eyJhbGciOiJub25lIn0.${Buffer.from(policyPayload(policy('open'))).toString('base64url')}.`;
  try {
    const first = await startService({ store: await openServiceStore(`sqlite:${join(dir, 'confkube.db')}`), policySigners: [s1.certPem], closeStore: true });
    refused(await put(first, 'SgxEnclave', unsigned), /Unsigned JWS/);
    await first.stop();
    const warnings: string[] = [];
    const second = await startService({ store: await openServiceStore(`sqlite:${join(dir, 'confkube.db')}`), closeStore: true, warn: (m) => warnings.push(m) });
    try {
      refused(await put(second, 'SgxEnclave', unsigned), /Unsigned JWS/);
      assert.ok(warnings.some((w) => /isolated mode/.test(w)), warnings.join('\n'));
      assert.equal((await put(second, 'SgxEnclave', await signJws(s1, policyPayload(policy('signed'))))).status, 200);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('expired or not-yet-valid signer certificates carry no authority', async () => {
  const expired = await makeSigner('RS256', { notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  await assert.rejects(startService({ policySigners: [expired.certPem] }), /expired at/);
  const s1 = await makeSigner('RS256');
  let clock = Date.now();
  const svc = await startService({ policySigners: [s1.certPem], now: () => clock });
  try {
    const future = await makeSigner('ES256', { notBefore: new Date(clock + 86400_000), notAfter: new Date(clock + 10 * 86400_000) });
    const addExpired = await certOp(svc, 'add', await signJws(s1, certPayload(expired)));
    assert.equal(addExpired.status, 400, addExpired.text);
    assert.match(addExpired.json().error.message, /expired at/);
    assert.match((await certOp(svc, 'add', await signJws(s1, certPayload(future)))).json().error.message, /not valid before/);
    // Two days later the registered signer's own certificate has lapsed.
    clock += 2 * 86400_000;
    const late = await put(svc, 'SgxEnclave', await signJws(s1, policyPayload(policy('late'))));
    assert.equal(late.status, 400, late.text);
    assert.match(late.json().error.message, /signer certificate: expired at/);
  } finally {
    await svc.stop();
  }
});

test('management answers cannot pass for attestation tokens: another key (not in /certs), typ and claim', async () => {
  const svc = await startService();
  try {
    const att = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') }), JSON_CT);
    assert.equal(att.status, 200, att.text);
    const mgmt = (await request(svc, 'GET', '/policies/SgxEnclave?api-version=2020-10-01', undefined, ADMIN)).json().token as string;
    const jwks = createLocalJWKSet((await request(svc, 'GET', '/certs')).json());
    // A relying party that checks only the signature against /certs and the issuer.
    const ok = await jwtVerify(att.json().token, jwks, { issuer: svc.url });
    assert.equal(ok.payload['x-ms-policy-hash'], policyHash(svc.svc.ctx.policies.get('SgxEnclave').text));
    await assert.rejects(jwtVerify(mgmt, jwks, { issuer: svc.url }), /no applicable key found|JWKSNoMatchingKey/);
    assert.equal(decodeProtectedHeader(mgmt).typ, 'policy-management+jwt');
    assert.equal(decodeProtectedHeader(att.json().token).typ, 'JWT');
    assert.equal(payloadOf(mgmt)['x-confkube-token-use'], 'policy-management');
    assert.equal(payloadOf(att.json().token)['x-confkube-token-use'], undefined);
  } finally {
    await svc.stop();
  }
});
