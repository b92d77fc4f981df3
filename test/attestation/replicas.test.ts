// Replicas of the service on one real PostgreSQL (test/helpers/postgres.ts), started in the same instant on an
// empty database, many times: exactly one signing key between them. In-process services each have their own
// connection pool (as separate processes do); one round runs separate `confkube serve` processes.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_CASE, request, startService, testKeyProtector, type Running } from './helpers/harness.js';
import { startServeProcess } from './helpers/serve-process.js';
import { createSigningKey, createTlsCertificate } from '../../src/attestation/index.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { startBackend, type Backend } from '../store/helpers/backends.js';

let backend: Backend;
before(async () => { backend = await startBackend('postgres'); });
after(async () => { await backend.stop(); });
const freshDatabase = (): Promise<string> => backend.freshUrl();

const q64 = readFileSync(REAL_CASE.quote).toString('base64url');
const kidOfToken = (t: string): string => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
async function attestKid(r: Running): Promise<string> {
  const res = await request(r, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: q64 }), { 'content-type': 'application/json' });
  assert.equal(res.status, 200, res.text);
  return kidOfToken(res.json().token);
}

test('four replicas started in the same instant on an empty PostgreSQL create exactly one signing key (10 rounds)', async () => {
  for (let round = 0; round < 10; round++) {
    const url = await freshDatabase();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openServiceStore(url)));
    const replicas = await Promise.all(stores.map((store) => startService({ store, closeStore: true })));
    try {
      const rows = await stores[0]!.listSigningKeys();
      assert.equal(rows.length, 1, `round ${round}: ${rows.length} signing keys in the store`);
      for (const r of replicas) {
        assert.equal(await attestKid(r), rows[0]!.kid, `round ${round}: ${r.url} signs with another key`);
        assert.deepEqual((await request(r, 'GET', '/certs')).json().keys.map((k: { kid: string }) => k.kid), [rows[0]!.kid]);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  }
});

test('three `confkube serve` processes started together on an empty PostgreSQL: one key, and each signs with it', async () => {
  const url = await freshDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'confkube-replicas-'));
  const t = await createTlsCertificate(['127.0.0.1']);
  writeFileSync(join(dir, 'tls.key'), t.key, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.crt'), t.cert);
  const procs = await Promise.all(Array.from({ length: 3 }, () => startServeProcess({ store: url, tlsKey: join(dir, 'tls.key'), tlsCert: join(dir, 'tls.crt'), baseUrl: 'https://attest.confkube.test' })));
  try {
    // The start-up line names the address bound and the public base URL apart.
    for (const p of procs) assert.equal(p.banner, `confkube attestation service listening on ${p.url}; base URL (token iss, jku) https://attest.confkube.test\n`);
    const store = await openServiceStore(url);
    try {
      const rows = await store.listSigningKeys();
      assert.equal(rows.length, 1, `${rows.length} signing keys`);
      for (const p of procs) {
        const res = await fetchWithCa(`${p.url}/attest/SgxEnclave?api-version=2020-10-01`, t.cert, JSON.stringify({ quote: q64 }));
        assert.equal(kidOfToken(JSON.parse(res).token), rows[0]!.kid);
      }
    } finally {
      await store.close();
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store left with two live keys by the old start-up race: one keeps signing, the other retires and leaves /certs on schedule', async () => {
  const url = await freshDatabase();
  const store = await openServiceStore(url);
  await store.migrate();
  const base = 'https://127.0.0.1:1';
  const older = await createSigningKey(base, 1_000_000, testKeyProtector);
  const newer = await createSigningKey(base, 2_000_000, testKeyProtector);
  await store.addSigningKey(older);
  await store.addSigningKey(newer);
  let clock = 3_000_000;
  const logs: string[] = [];
  const svc = await startService({ store, closeStore: true, now: () => clock, warn: (m) => logs.push(m) });
  try {
    const rows = await store.listSigningKeys();
    assert.equal(rows.find((r) => r.kid === newer.kid)!.retiredAt, null);
    assert.equal(rows.find((r) => r.kid === older.kid)!.retiredAt, 3_000_000);
    assert.ok(logs.some((l) => l.includes(older.kid) && l.includes('retired')), logs.join('\n'));
    const metrics = (await request(svc, 'GET', '/metrics')).text;
    assert.match(metrics, new RegExp(`confkube_signing_key_state\\{kid="${escape(newer.kid)}",state="signing"\\} 1`));
    assert.match(metrics, new RegExp(`confkube_signing_key_state\\{kid="${escape(older.kid)}",state="retired"\\} 1`));
    assert.match(metrics, new RegExp(`confkube_signing_key_unpublish_at_seconds\\{kid="${escape(older.kid)}"\\} ${(3_000_000 + 8 * 3600_000 + 300_000) / 1000}`));
    const kids = async (): Promise<string[]> => (await request(svc, 'GET', '/certs')).json().keys.map((k: { kid: string }) => k.kid).sort();
    assert.deepEqual(await kids(), [older.kid, newer.kid].sort());
    // Just before its last tokens expire it is still published; after, it is gone (the clock is the service's).
    clock = 3_000_000 + 8 * 3600_000 + 300_000 - 1;
    await svc.svc.ctx.keyring.reload();
    assert.deepEqual(await kids(), [older.kid, newer.kid].sort());
    clock += 1;
    await svc.svc.ctx.keyring.reload();
    assert.deepEqual(await kids(), [newer.kid]);
  } finally {
    await svc.stop();
  }
});

const escape = (s: string): string => s.replace(/[+/=]/g, (c) => `\\${c}`);

async function fetchWithCa(url: string, ca: string, body: string): Promise<string> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
