// Slow and numerous clients, TLS settings and response headers, tried against the service over real sockets on
// 127.0.0.1. Timeouts are configured short; the tests wait for the server to act (close, answer), never for a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { request, REAL_CASE } from '../attestation/helpers/harness.js';
import { startHardened, tlsOpen, untilClosed } from './helpers.js';

const T = { timeout: 30_000 };
const short = { handshakeTimeoutMs: 300, headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 300, maxConnections: 64 };

function cloudBody(raw: string): { status: number; body: { error: { code: string; message: string } } } {
  const [head, body] = raw.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) };
}

test('a TCP connection that never starts TLS is closed by the handshake timeout', T, async () => {
  const r = await startHardened({ connectionLimits: short });
  try {
    const s = netConnect({ host: '127.0.0.1', port: r.port });
    const text = await untilClosed(s);
    assert.equal(text, '', 'the server sends nothing to a client that never says hello');
  } finally {
    await r.stop();
  }
});

test('a TLS connection that never sends its request headers gets 408 with the service error body, then is closed', T, async () => {
  const r = await startHardened({ connectionLimits: short });
  try {
    const s = await tlsOpen(r);
    const got = cloudBody(await untilClosed(s));
    assert.equal(got.status, 408);
    assert.equal(got.body.error.code, 'RequestTimeout');
  } finally {
    await r.stop();
  }
});

test('a body dripping one byte at a time is cut off by the request timeout (408, service error body)', T, async () => {
  const r = await startHardened({ connectionLimits: short });
  try {
    const s = await tlsOpen(r);
    const closed = untilClosed(s);
    s.write('POST /attest/SgxEnclave?api-version=2022-08-01 HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{');
    // Each byte comes well inside any inactivity window; only a deadline on the whole request stops this client.
    const drip = setInterval(() => s.writable && s.write(' '), 50);
    const got = cloudBody(await closed);
    clearInterval(drip);
    assert.equal(got.status, 408);
    assert.equal(got.body.error.code, 'RequestTimeout');
  } finally {
    await r.stop();
  }
});

test('an idle keep-alive connection is closed after its response', T, async () => {
  const r = await startHardened({ connectionLimits: { ...short, headersTimeoutMs: 20_000, requestTimeoutMs: 20_000, idleTimeoutMs: 200 } });
  try {
    const s = await tlsOpen(r);
    const closed = untilClosed(s);
    s.write('GET /certs HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n\r\n');
    const text = await closed;
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer, then the idle close (no 408: not the header deadline)');
  } finally {
    await r.stop();
  }
});

test('connections beyond the limit are closed as they arrive; a freed slot is usable again', T, async () => {
  const r = await startHardened({ connectionLimits: { ...short, handshakeTimeoutMs: 20_000, headersTimeoutMs: 20_000, requestTimeoutMs: 20_000, maxConnections: 2 } });
  try {
    const a = await tlsOpen(r);
    const b = await tlsOpen(r);
    await assert.rejects(tlsOpen(r), /socket disconnected|ECONNRESET|EPIPE/);
    a.destroy();
    // The server frees the slot when it sees the close: retry until it has.
    let c: TLSSocket | null = null;
    while (c === null) c = await tlsOpen(r).catch(() => null);
    c.destroy();
    b.destroy();
  } finally {
    await r.stop();
  }
});

test('oversized request headers get 431 with the service error body', T, async () => {
  const r = await startHardened();
  try {
    const s = await tlsOpen(r);
    const closed = untilClosed(s);
    s.write(`GET /certs HTTP/1.1\r\nhost: 127.0.0.1\r\nx-filler: ${'a'.repeat(40_000)}\r\n\r\n`);
    const got = cloudBody(await closed);
    assert.equal(got.status, 431);
    assert.equal(got.body.error.code, 'RequestHeaderFieldsTooLarge');
  } finally {
    await r.stop();
  }
});

test('TLS: CBC-SHA1, CCM8, ARIA suites and TLS 1.1 are refused; ECDHE-GCM over 1.2 and TLS 1.3 are accepted', T, async () => {
  const weak = ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-CCM8', 'ECDHE-ECDSA-ARIA128-GCM-SHA256'];
  const r = await startHardened();
  // Control: a TLS server with node's defaults and the same certificate accepts the weak suites this client offers,
  // so the refusals below come from the service's settings.
  const control = createTlsServer({ key: r.key, cert: r.ca, ciphers: 'ALL@SECLEVEL=0' }, (s) => s.end());
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  try {
    for (const cipher of weak) {
      const s = await tlsOpen({ port: (control.address() as { port: number }).port, ca: r.ca }, { maxVersion: 'TLSv1.2', ciphers: `${cipher}@SECLEVEL=0` }).catch((e: Error) => assert.fail(`control refused ${cipher}: ${e.message}`));
      assert.equal(s.getCipher().name, cipher);
      s.destroy();
    }
    for (const cipher of weak) {
      await assert.rejects(tlsOpen(r, { maxVersion: 'TLSv1.2', ciphers: cipher }), (e: Error) => /handshake failure|no cipher|ECONNRESET|alert/i.test(e.message), cipher);
    }
    await assert.rejects(tlsOpen(r, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }), (e: Error) => /version|protocol|alert|ECONNRESET/i.test(e.message));
    const gcm = await tlsOpen(r, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal(gcm.getCipher().name, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    gcm.destroy();
    const t13 = await tlsOpen(r);
    assert.equal(t13.getProtocol(), 'TLSv1.3');
    t13.destroy();
  } finally {
    control.close();
    await r.stop();
  }
});

test('tokens and policy answers are no-store, nosniff and HSTS; the OpenID document advertises no endpoint that 404s', T, async () => {
  const r = await startHardened();
  try {
    const quote = readFileSync(REAL_CASE.quote).toString('base64url');
    const answers = [
      await request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote }), { 'content-type': 'application/json' }),
      await request(r, 'GET', '/policies/SgxEnclave?api-version=2022-08-01', undefined, { authorization: 'Bearer test-admin-token-0123456789abcdef' }),
      await request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote: 'x' }), { 'content-type': 'application/json' }),
    ];
    assert.equal(answers[0].status, 200, answers[0].text);
    for (const a of answers) {
      assert.equal(a.headers['cache-control'], 'no-store');
      assert.equal(a.headers['x-content-type-options'], 'nosniff');
      assert.match(String(a.headers['strict-transport-security']), /^max-age=\d+/);
    }
    const oidc = (await request(r, 'GET', '/.well-known/openid-configuration')).json();
    assert.equal(oidc.revocation_endpoint, undefined);
    for (const [k, v] of Object.entries(oidc)) {
      if (!/(_endpoint|_uri)$/.test(k)) continue;
      const res = await request(r, 'GET', new URL(String(v)).pathname);
      assert.notEqual(res.status, 404, `${k} ${String(v)}`);
    }
  } finally {
    await r.stop();
  }
});
