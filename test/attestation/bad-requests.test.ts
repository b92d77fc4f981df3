// The service under test runs in-process over HTTPS on 127.0.0.1; nothing stands in for a peer.
// Every kind of bad input gets MAA's CloudError body with a 4xx, never a 500 (issue 6, docs/attestation.md §Errors).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { REAL_CASE, request, startService, type Running } from './helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';

let svc: Running;
let store: MemoryStore;
const quote = readFileSync(REAL_CASE.quote);
const q64 = quote.toString('base64url');
const json = { 'content-type': 'application/json' };

before(async () => {
  store = new MemoryStore();
  svc = await startService({ store, bodyLimit: 64 * 1024 });
});
after(async () => {
  await svc.stop();
});

function assertCloudError(res: { status: number; text: string }, status: number, code?: string): void {
  assert.equal(res.status, status, res.text);
  const body = JSON.parse(res.text);
  assert.equal(typeof body.error?.code, 'string', res.text);
  assert.equal(typeof body.error?.message, 'string', res.text);
  if (code) assert.equal(body.error.code, code, res.text);
}

const attest = (body: unknown, path = '/attest/SgxEnclave?api-version=2020-10-01', headers: Record<string, string> = json) =>
  request(svc, 'POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers);

test('bad attest requests: each gets the right 4xx and MAA error code', async () => {
  const cases: [string, () => ReturnType<typeof attest>, number, string][] = [
    ['unknown attestation type', () => attest({ quote: q64 }, '/attest/Tdx?api-version=2020-10-01'), 400, 'InvalidAttestationType'],
    ['missing api-version', () => attest({ quote: q64 }, '/attest/SgxEnclave'), 400, 'InvalidApiVersion'],
    ['bad api-version', () => attest({ quote: q64 }, '/attest/SgxEnclave?api-version=1999-01-01'), 400, 'InvalidApiVersion'],
    ['bad base64', () => attest({ quote: 'not*base64!' }), 400, 'InvalidParameter'],
    ['impossible base64 length', () => attest({ quote: 'abcde' }), 400, 'InvalidParameter'],
    ['truncated quote', () => attest({ quote: quote.subarray(0, 500).toString('base64url') }), 400, 'InvalidQuote'],
    ['empty quote', () => attest({ quote: '' }), 400, 'InvalidParameter'],
    ['quote not a string', () => attest({ quote: 12 }), 400, 'InvalidParameter'],
    ['body is an array', () => attest([1, 2]), 400, 'InvalidParameter'],
    ['malformed JSON', () => attest('{"quote":'), 400, 'InvalidParameter'],
    ['empty JSON body', () => attest(''), 400, 'InvalidParameter'],
    ['wrong content type', () => attest(JSON.stringify({ quote: q64 }), undefined, { 'content-type': 'text/plain' }), 415, 'UnsupportedMediaType'],
    ['unknown content type', () => attest('x', undefined, { 'content-type': 'application/x-foo' }), 415, 'UnsupportedMediaType'],
    ['huge body', () => attest({ quote: 'A'.repeat(70 * 1024) }), 413, 'PayloadTooLarge'],
    ['runtime data not bound to the quote', () => attest({ quote: q64, runtimeData: { data: 'aGVsbG8', dataType: 'Binary' } }), 400, 'RuntimeDataMismatch'],
    ['runtime data JSON type but not JSON', () => attest({ quote: q64, runtimeData: { data: 'aGVsbG8', dataType: 'JSON' } }), 400, 'InvalidParameter'],
    ['unknown runtime dataType', () => attest({ quote: q64, runtimeData: { data: 'aGVsbG8', dataType: 'Text' } }), 400, 'InvalidParameter'],
    ['draft policy with a syntax error', () => attest({ quote: q64, draftPolicyForAttestation: 'version=1.0; nonsense' }), 400, 'InvalidPolicy'],
    ['policy denies', () => attest({ quote: q64, draftPolicyForAttestation: 'version=1.0; authorizationrules{=> deny();};' }), 400, 'PolicyDenied'],
    ['OpenEnclave report without OE header', () => attest({ report: q64 }, '/attest/OpenEnclave?api-version=2020-10-01'), 400, 'InvalidQuote'],
    ['quote with a flipped signature byte', () => { const q = Buffer.from(quote); q[440] ^= 1; return attest({ quote: q.toString('base64') }); }, 400, 'QuoteVerificationFailed'],
  ];
  for (const [name, run, status, code] of cases) {
    const res = await run();
    assert.doesNotThrow(() => assertCloudError(res, status, code), `${name}: ${res.status} ${res.text.slice(0, 300)}`);
  }
});

test('faasm-style empty fields are absent, standard base64 with padding is accepted, OpenEnclave reports are unwrapped', async () => {
  const r1 = await attest({ quote: quote.toString('base64'), draftPolicyForAttestation: '', initTimeData: { data: '', dataType: '' }, runtimeData: { data: '', dataType: 'Binary' } });
  assert.equal(r1.status, 200, r1.text);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(1, 0);
  header.writeUInt32LE(2, 4);
  header.writeUInt32LE(quote.length, 8);
  const r2 = await attest({ report: Buffer.concat([header, quote]).toString('base64url') }, '/attest/OpenEnclave?api-version=2020-10-01');
  assert.equal(r2.status, 200, r2.text);
});

test('decisions that refuse are audited too, before the answer', async () => {
  const n = store.audit.length;
  const res = await attest({ quote: q64, draftPolicyForAttestation: 'version=1.0; authorizationrules{=> deny();};' });
  assert.equal(res.status, 400);
  assert.equal(store.audit.length, n + 1);
  assert.equal(store.audit[n].decision, 'deny');
  assert.equal(store.audit[n].tokenId, null);
});

test('policy writes without authority are refused', async () => {
  const jws = 'eyJhbGciOiJub25lIn0.eyJBdHRlc3RhdGlvblBvbGljeSI6ImRtVnljMmx2YmoweExqQTdJR0YxZEdodmNtbDZZWFJwYjI1eWRXeGxjM3M5UGlCd1pYSnRhWFFvS1R0OU95QnBjM04xWVc1alpYSjFiR1Z6ZTMwNyJ9.';
  const put = (h: Record<string, string>) => request(svc, 'PUT', '/policies/SgxEnclave?api-version=2020-10-01', jws, { 'content-type': 'text/plain', ...h });
  assertCloudError(await put({}), 401, 'Unauthorized');
  assertCloudError(await put({ authorization: 'Bearer wrong' }), 401, 'Unauthorized');
  assertCloudError(await request(svc, 'GET', '/policies/SgxEnclave?api-version=2020-10-01'), 401, 'Unauthorized');
  const ok = await put({ authorization: 'Bearer test-admin-token-0123456789abcdef' });
  assert.equal(ok.status, 200, ok.text);
  const body = JSON.parse(Buffer.from(ok.json().token.split('.')[1], 'base64url').toString());
  // docs/attestation.md §Policy management: the real MAA response to exactly this JWS.
  assert.equal(body['x-ms-policy-token-hash'], 'c6sEJQItV50OeP9IrP_bzywAMOVvj5uDPbklA_bwdYQ');
  assert.equal(body['x-ms-policy-result'], 'Updated');
  assert.equal(body.exp - body.iat, 3600);
  const r = await request(svc, 'POST', '/policies/SgxEnclave:reset?api-version=2020-10-01', 'eyJhbGciOiJub25lIn0..', { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
  assert.equal(r.status, 200, r.text);
  assertCloudError(await request(svc, 'POST', '/certificates:add?api-version=2020-10-01', JSON.stringify(jws), { ...json, authorization: 'Bearer test-admin-token-0123456789abcdef' }), 400, 'InvalidOperation');
  assertCloudError(await request(svc, 'PUT', '/policies/SgxEnclave?api-version=2020-10-01', 'a.b', { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' }), 400, 'InvalidPolicy');
  assertCloudError(await request(svc, 'PUT', '/policies/Nope?api-version=2020-10-01', jws, { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' }), 400, 'InvalidAttestationType');
});

test('unknown routes and methods answer 404 in MAA shape', async () => {
  assertCloudError(await request(svc, 'GET', '/nope'), 404, 'NotFound');
  assertCloudError(await request(svc, 'POST', '/policies/SgxEnclave:explode?api-version=2020-10-01', 'x', { 'content-type': 'text/plain' }), 404, 'NotFound');
});

test('property: random bodies, content types and queries on every route never produce a 5xx', async () => {
  const routes: [string, string][] = [
    ['POST', '/attest/SgxEnclave'], ['POST', '/attest/OpenEnclave'], ['POST', '/attest/Other'],
    ['PUT', '/policies/SgxEnclave'], ['POST', '/policies/SgxEnclave:reset'], ['GET', '/policies/OpenEnclave'],
    ['POST', '/certificates:add'], ['POST', '/certificates:remove'], ['GET', '/certificates'],
    ['GET', '/certs'], ['GET', '/.well-known/openid-configuration'], ['GET', '/sgx/certification/v4/tcb'],
    ['GET', '/sgx/certification/v4/pckcrl'], ['GET', '/metrics'], ['POST', '/keys/none/release'],
  ];
  const jsonish = fc.oneof(
    fc.json(),
    fc.record({ quote: fc.oneof(fc.string(), fc.base64String(), fc.constant(q64.slice(0, 800))), runtimeData: fc.option(fc.record({ data: fc.string(), dataType: fc.constantFrom('Binary', 'JSON', '', 'x') })), draftPolicyForAttestation: fc.option(fc.string()), nonce: fc.option(fc.string()) }).map((o) => JSON.stringify(o)),
    fc.string(),
  );
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...routes), jsonish, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=utf-8'),
    fc.constantFrom('', '?api-version=2020-10-01', '?api-version=2022-08-01', '?api-version=bad', '?fmspc=00606a000000&ca=platform', '?fmspc=zz'),
    fc.boolean(),
    async ([method, path], body, ct, q, auth) => {
      const res = await request(svc, method, path + q, method === 'GET' ? undefined : body, { ...(method === 'GET' ? {} : { 'content-type': ct }), ...(auth ? { authorization: 'Bearer test-admin-token-0123456789abcdef' } : {}) });
      assert.ok(res.status < 500, `${method} ${path}${q} ${ct} ${body.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`);
      if (res.status >= 400) assertCloudError(res, res.status);
    },
  ), { numRuns: 300 });
});
