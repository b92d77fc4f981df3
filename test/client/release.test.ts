// The enclave client end to end against the real attestation service (in-process over HTTPS on 127.0.0.1, the
// simulated SGX platform trusted in simulation mode), its quotes from a test peer that plays Gramine's
// /dev/attestation (helpers/gramine-peer.ts). The retry and JWE checks run against a small HTTPS peer in this
// file that answers what a faulty or hostile service could.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactEncrypt, importJWK } from 'jose';
import { createEnclaveClient, ClientError, type EnclaveClientOptions } from '../../src/client/index.js';
import { createTlsCertificate } from '../../src/attestation/index.js';
import { parseReleasePolicy } from '../../src/keyrelease/index.js';
import { createPlatform } from '../../src/sim/index.js';
import { freePort, request, startService, type Running } from '../attestation/helpers/harness.js';
import { graminePeer } from './helpers/gramine-peer.js';

const sha = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest());
const platform = createPlatform({ seed: 'client-release' });
const enclave = { mrEnclave: sha('app enclave'), mrSigner: sha('app signer'), isvProdId: 1, isvSvn: 2 };
const secret = Buffer.from('the database password, released to the enclave only');

const rejectsWith = (p: Promise<unknown>, code: string, message: RegExp, extra?: (e: ClientError) => void) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ClientError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    extra?.(e);
    return true;
  });

async function withService(fn: (o: { url: string; caFile: string; dir: string; svc: Running }) => Promise<void>): Promise<void> {
  const policyFor = (url: string, minSvn: number) => parseReleasePolicy({
    version: '1.0.0',
    anyOf: [{ authority: url, allOf: [
      { claim: 'x-ms-sgx-mrsigner', equals: Buffer.from(enclave.mrSigner).toString('hex') },
      { claim: 'x-ms-sgx-svn', greaterOrEquals: minSvn },
      { claim: 'x-ms-sgx-is-debuggable', equals: false },
    ] }],
    confkube: { allowSimulated: true, nonce: 'required' },
  });
  const svc = await startService({
    collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now,
    releasableKeys: (url) => [{ name: 'db-password', secret, policy: policyFor(url, 2) }, { name: 'needs-svn-5', secret, policy: policyFor(url, 5) }],
  });
  const peer = graminePeer(platform, enclave);
  try {
    await fn({ url: svc.url, caFile: svc.caFile, dir: peer.dir, svc });
  } finally {
    peer.close();
    await svc.stop();
  }
}

test('token form: the app attests through Gramine\'s files and receives the key, opened inside it; refusals carry the service\'s reason', async () => {
  await withService(async ({ url, caFile, dir }) => {
    const env = { CONFKUBE_ATTESTATION_URL: url, CONFKUBE_ATTESTATION_CA: caFile, CONFKUBE_ATTESTATION_DIR: dir };
    const client = createEnclaveClient({ env });
    const { claims } = await client.attest({ runtimeData: { app: 'orders' } });
    assert.equal(claims['x-ms-sgx-is-simulated'], true, 'a simulated token says so');
    assert.deepEqual(claims['x-ms-runtime'], { app: 'orders' });
    assert.equal(claims['x-ms-sgx-mrenclave'], Buffer.from(enclave.mrEnclave).toString('hex'));
    const got = await client.releaseKey('db-password', { form: 'token' });
    assert.deepEqual(Buffer.from(got), secret);
    // The policy requires a nonce: the client's nonce was bound and consumed; a second release gets a new one.
    assert.deepEqual(Buffer.from(await client.releaseKey('db-password', { form: 'token' })), secret);

    let retries = 0;
    const counted = createEnclaveClient({ env, retry: { onRetry: () => retries++ } });
    await rejectsWith(counted.releaseKey('needs-svn-5', { form: 'token' }), 'ERR_CLIENT_RELEASE_DENIED', /answered 403: ReleaseDenied: needs-svn-5: policy: the claims do not satisfy the release policy/, (e) => {
      assert.equal(e.status, 403);
      assert.equal(e.serviceCode, 'ReleaseDenied');
      assert.match(e.serviceMessage!, /^needs-svn-5: policy:/);
    });
    await rejectsWith(counted.releaseKey('no-such-key', { form: 'token' }), 'ERR_CLIENT_KEY_NOT_FOUND', /answered 404: KeyNotFound/);
    assert.equal(retries, 0, 'a 4xx is never retried');
  });
});

test('challenge form (the default): one release call with the quote; versions after a rotation; a disabled version refused with its reason', async () => {
  await withService(async ({ url, caFile, dir, svc }) => {
    const client = createEnclaveClient({ env: { CONFKUBE_ATTESTATION_URL: url, CONFKUBE_ATTESTATION_CA: caFile, CONFKUBE_ATTESTATION_DIR: dir } });
    assert.deepEqual(Buffer.from(await client.releaseKey('db-password')), secret);
    const admin = { authorization: 'Bearer test-admin-token-0123456789abcdef', 'content-type': 'application/json' };
    const first = (await request(svc, 'GET', '/keys/db-password', undefined, admin)).json().currentVersion as string;
    const rotated = await request(svc, 'POST', '/keys/db-password/rotate', JSON.stringify({ generateBytes: 32 }), admin);
    assert.equal(rotated.status, 200, rotated.text);
    const second = rotated.json().version as string;
    assert.notEqual(second, first);
    const current = await client.releaseKey('db-password');
    assert.equal(current.length, 32);
    assert.notDeepEqual(Buffer.from(current), secret, 'the current version is the rotated one');
    assert.deepEqual(Buffer.from(await client.releaseKey('db-password', { version: second })), Buffer.from(current));
    assert.deepEqual(Buffer.from(await client.releaseKey('db-password', { version: first })), secret, 'the old version while enabled');
    assert.deepEqual(Buffer.from(await client.releaseKey('db-password', { version: first, form: 'token' })), secret);
    const disabled = await request(svc, 'PATCH', `/keys/db-password/${first}`, JSON.stringify({ attributes: { enabled: false } }), admin);
    assert.equal(disabled.status, 200, disabled.text);
    await rejectsWith(client.releaseKey('db-password', { version: first }), 'ERR_CLIENT_RELEASE_DENIED', new RegExp(`answered 403: ReleaseDenied: .*${first}.* is disabled`));
    await rejectsWith(client.releaseKey('needs-svn-5'), 'ERR_CLIENT_RELEASE_DENIED', /ReleaseDenied: needs-svn-5: policy: the claims do not satisfy the release policy/);
    await rejectsWith(client.releaseKey('db-password', { version: 'f'.repeat(32) }), 'ERR_CLIENT_KEY_NOT_FOUND', /answered 404: KeyNotFound/);
  });
});

test('bad configuration and transport: wrong CA, service down (retries, then a clear error), no URL, http, bad names', async () => {
  await withService(async ({ url, dir }) => {
    const other = await createTlsCertificate(['127.0.0.1']);
    const tmp = mkdtempSync(join(tmpdir(), 'ck-client-ca-'));
    try {
      const wrongCa = join(tmp, 'other-ca.crt');
      writeFileSync(wrongCa, other.cert);
      let retries = 0;
      const base: EnclaveClientOptions = { url, caFile: wrongCa, quoteSource: async (rd) => platform.quote({ ...enclave, reportData: rd }), retry: { attempts: 3, baseDelayMs: 1, onRetry: () => retries++ } };
      await rejectsWith(createEnclaveClient(base).attest(), 'ERR_CLIENT_TLS', /TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*CONFKUBE_ATTESTATION_CA/);
      assert.equal(retries, 0, 'no retry mends a wrong CA');

      const down = `https://127.0.0.1:${await freePort()}`;
      const seen: number[] = [];
      await rejectsWith(createEnclaveClient({ ...base, url: down, retry: { attempts: 3, baseDelayMs: 1, onRetry: (i) => seen.push(i.attempt) } }).releaseKey('db-password'), 'ERR_CLIENT_UNREACHABLE', /cannot reach https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED .*\(gave up after 3 tries\)/);
      assert.deepEqual(seen, [1, 2]);

      assert.throws(() => createEnclaveClient({ env: {} }), /no service URL: pass \{ url \} or set CONFKUBE_ATTESTATION_URL/);
      assert.throws(() => createEnclaveClient({ url: url.replace('https', 'http') }), /is not https/);
      assert.throws(() => createEnclaveClient({ url, caFile: join(tmp, 'absent.crt') }), /cannot read the service CA .*absent\.crt: ENOENT/);
      assert.throws(() => createEnclaveClient({ url, ca: 'not pem' }), /holds no PEM certificate/);
      await rejectsWith(createEnclaveClient({ url, env: { CONFKUBE_ATTESTATION_DIR: dir } }).releaseKey('../admin'), 'ERR_CLIENT_CONFIG', /key name "\.\.\/admin"/);
      await rejectsWith(createEnclaveClient({ url, env: { CONFKUBE_ATTESTATION_DIR: dir } }).releaseKey('k', { form: 'push' as never }), 'ERR_CLIENT_CONFIG', /release form "push"/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/** An HTTPS peer answering each request with `answer(path, body)`; counts requests per path. */
async function peerService(answer: (path: string, body: { runtimeData: { data: string } }) => Promise<{ status: number; headers?: Record<string, string>; body: unknown }>): Promise<{ url: string; ca: string; hits: Map<string, number>; server: Server; connections: () => number }> {
  const tls = await createTlsCertificate(['127.0.0.1']);
  const hits = new Map<string, number>();
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', async () => {
      const path = (req.url ?? '').split('?')[0];
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const a = await answer(path, text ? JSON.parse(text) : null);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  let connections = 0;
  server.on('secureConnection', () => connections++);
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${port}`, ca: tls.cert, hits, server, connections: () => connections };
}

test('retries: 503 with Retry-After and 5xx are retried with a fresh nonce each time; a 400 is not', async () => {
  let nonces = 0;
  const peer = await peerService(async (path) => {
    if (path.endsWith('/nonce')) return { status: 200, body: { nonce: `n${++nonces}`, expiresOn: new Date().toISOString() } };
    if (path === '/keys/busy/release') return { status: 503, headers: { 'retry-after': '0' }, body: { error: { code: 'ServiceUnavailable', message: 'the attestation service cannot reach its database; retry after 2 s' } } };
    if (path === '/keys/broken/release') return { status: 500, body: { error: { code: 'InternalError', message: 'boom' } } };
    return { status: 400, body: { error: { code: 'InvalidRequest', message: 'body must have exactly one of target and quote' } } };
  });
  try {
    const delays: number[] = [];
    const client = createEnclaveClient({ url: peer.url, ca: peer.ca, quoteSource: async (rd) => platform.quote({ ...enclave, reportData: rd }), retry: { attempts: 3, baseDelayMs: 1, onRetry: (i) => delays.push(i.delayMs) } });
    await rejectsWith(client.releaseKey('busy'), 'ERR_CLIENT_UNAVAILABLE', /answered 503: ServiceUnavailable: the attestation service cannot reach its database.*\(gave up after 3 tries\)/, (e) => assert.equal(e.status, 503));
    assert.deepEqual(delays, [0, 0], 'Retry-After: 0 is honoured');
    assert.equal(peer.hits.get('/keys/busy/nonce'), 3, 'each try starts with a new nonce');
    await rejectsWith(client.releaseKey('broken'), 'ERR_CLIENT_UNAVAILABLE', /answered 500: InternalError: boom/);
    assert.equal(peer.hits.get('/keys/broken/release'), 3);
    await rejectsWith(client.releaseKey('other'), 'ERR_CLIENT_BAD_REQUEST', /answered 400: InvalidRequest: body must have exactly one of target and quote/, (e) => assert.equal(e.serviceCode, 'InvalidRequest'));
    assert.equal(peer.hits.get('/keys/other/release'), 1, 'a 4xx is answered once');
    // A service behind a proxy, at a path prefix: every route is under it.
    const prefixed = createEnclaveClient({ url: `${peer.url}/behind-proxy`, ca: peer.ca, quoteSource: async (rd) => platform.quote({ ...enclave, reportData: rd }), retry: { attempts: 1 } });
    await rejectsWith(prefixed.releaseKey('other'), 'ERR_CLIENT_BAD_REQUEST', /answered 400/);
    assert.deepEqual([peer.hits.get('/behind-proxy/keys/other/nonce'), peer.hits.get('/behind-proxy/keys/other/release')], [1, 1]);
  } finally {
    peer.server.close();
  }
});

test('the released JWE must open with the enclave key and name the key, version and nonce asked for', async () => {
  let mode = 'good';
  const peer = await peerService(async (path, body) => {
    if (path.endsWith('/nonce')) return { status: 200, body: { nonce: 'peer-nonce', expiresOn: new Date().toISOString() } };
    const r = JSON.parse(Buffer.from(body.runtimeData.data, 'base64url').toString());
    const key = await importJWK(r.keys[0], 'RSA-OAEP-256');
    const header = { alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: r.keys[0].kid, 'x-confkube-key': mode === 'other-key' ? 'another' : 'k', 'x-confkube-key-version': 'v1', nonce: mode === 'old-nonce' ? 'stale' : r.nonce };
    let jwe = await new CompactEncrypt(secret).setProtectedHeader(header).encrypt(key);
    const p = jwe.split('.');
    if (mode === 'tampered') p[3] = Buffer.from(Buffer.from(p[3], 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url');
    if (mode === 'swapped-header') p[0] = Buffer.from(JSON.stringify({ ...header, 'x-confkube-key-version': 'v2' })).toString('base64url');
    jwe = p.join('.');
    return { status: 200, body: { value: mode === 'not-jwe' ? 'abc.def' : jwe } };
  });
  try {
    const client = createEnclaveClient({ url: peer.url, ca: peer.ca, quoteSource: async (rd) => platform.quote({ ...enclave, reportData: rd }), retry: { attempts: 1 } });
    assert.deepEqual(Buffer.from(await client.releaseKey('k', { version: 'v1' })), secret);
    // Nonce and release over one kept-alive connection: a Service balancing connections sends both to one replica.
    assert.equal(peer.connections(), 1);
    const refusals: [string, RegExp][] = [
      ['other-key', /"x-confkube-key" is "another", the client asked for "k"/],
      ['old-nonce', /"nonce" is "stale", the client asked for "peer-nonce"/],
      ['tampered', /JWE authentication failed/],
      ['swapped-header', /JWE authentication failed/],
      ['not-jwe', /not a compact JWE \(2 parts, expected 5\)/],
    ];
    for (const [m, re] of refusals) {
      mode = m;
      await rejectsWith(client.releaseKey('k', { version: 'v1' }), 'ERR_CLIENT_JWE_INVALID', re);
    }
    mode = 'good';
    await rejectsWith(client.releaseKey('k', { version: 'v2' }), 'ERR_CLIENT_JWE_INVALID', /"x-confkube-key-version" is "v1", the client asked for "v2"/);
  } finally {
    peer.server.close();
  }
});
