// A local user on the service's host, as an attacker: reads the store's files and the database's bytes looking
// for the token signing key, and points a production `confkube serve` at the demo's store. The service runs as
// `confkube serve` (a child process) or in-process; PostgreSQL is a real throwaway server (test/helpers/postgres.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { REAL_CASE, request, startService, testKeyProtector } from './helpers/harness.js';
import { startServeProcess } from './helpers/serve-process.js';
import { createSigningKey, createTlsCertificate, Keyring } from '../../src/attestation/index.js';
import { sealPurpose } from '../../src/attestation/signing-key.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { AesGcmKeyProtector, type SigningKeyRecord } from '../../src/store/index.js';
import { postgresBinDir, startPostgres } from '../helpers/postgres.js';
import { runCli } from '../helpers/cli.js';

const mode = (p: string): number => statSync(p).mode & 0o777;
const quoteBody = JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') });

/** The key's own DER, PEM body and the PKCS#8 markers, each as bytes an attacker would grep for. */
async function needles(r: SigningKeyRecord): Promise<Map<string, Buffer>> {
  const der = Buffer.from(await testKeyProtector.open(r.sealedPrivateKey, sealPurpose(r.kid)));
  const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
  return new Map([
    ['PKCS#8 DER of the key', der],
    ['64 bytes from the middle of the key (its primes)', der.subarray(600, 664)],
    ['PKCS#8 RSA prefix (version 0, rsaEncryption)', Buffer.from('020100300d06092a864886f70d0101010500', 'hex')],
    ['PEM armour', Buffer.from('PRIVATE KEY')],
    ['a line of the key\'s PEM body', Buffer.from(pem.split('\n')[5]!)],
  ]);
}

function found(haystack: Buffer, n: Map<string, Buffer>): string[] {
  return [...n].filter(([, b]) => haystack.includes(b)).map(([what]) => what);
}

function sqliteBytes(path: string): Buffer {
  return Buffer.concat(['', '-wal', '-shm'].filter((s) => existsSync(path + s)).map((s) => readFileSync(path + s)));
}

async function tls(dir: string): Promise<{ key: string; cert: string; ca: string }> {
  const t = await createTlsCertificate(['127.0.0.1']);
  writeFileSync(join(dir, 'tls.key'), t.key, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.crt'), t.cert);
  return { key: join(dir, 'tls.key'), cert: join(dir, 'tls.crt'), ca: t.cert };
}

test('confkube serve on SQLite: folder 0700, database, -wal and -shm 0600 (stat), and no private key in their bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  const db = join(dir, 'data', 'confkube.db');
  const t = await tls(dir);
  const svc = await startServeProcess({ store: `sqlite:${db}`, tlsKey: t.key, tlsCert: t.cert });
  try {
    const { Agent, request: post } = await import('node:https');
    const agent = new Agent({ ca: t.ca });
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        post(`${svc.url}/attest/SgxEnclave?api-version=2020-10-01`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        }).on('error', reject).end(quoteBody);
      });
    }
    assert.equal(mode(join(dir, 'data')), 0o700);
    for (const f of ['', '-wal', '-shm']) assert.equal(mode(db + f), 0o600, `confkube.db${f}`);
  } finally {
    await svc.stop();
  }
  try {
    const store = await openServiceStore(`sqlite:${db}`);
    const [key] = await store.listSigningKeys();
    await store.close();
    assert.match(key!.sealedPrivateKey, /^confkube-sealed:v1:aes-256-gcm:/);
    assert.deepEqual(found(sqliteBytes(db), await needles(key!)), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a plaintext key left by an older version is sealed at the first start with a KEK, and its bytes are gone from the SQLite files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  const db = join(dir, 'legacy.db');
  try {
    const legacy = await createSigningKey('https://127.0.0.1:1', Date.now() - 1000, testKeyProtector);
    const n = await needles(legacy);
    const pem = createPrivateKey({ key: n.get('PKCS#8 DER of the key')!, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    await (await openServiceStore(`sqlite:${db}`)).close();
    const raw = new Database(db);
    raw.prepare('INSERT INTO signing_keys (kid, sealed_private_key, certificate_pem, created_at, active_from, retired_at) VALUES (?, ?, ?, ?, ?, NULL)')
      .run(legacy.kid, pem, legacy.certificatePem, legacy.createdAt, legacy.activeFrom);
    raw.close();
    assert.ok(found(sqliteBytes(db), n).includes('PEM armour'), 'the search finds a plaintext key when there is one');

    const logs: string[] = [];
    const svc = await startService({ store: await openServiceStore(`sqlite:${db}`), closeStore: true, warn: (m) => logs.push(m) });
    try {
      const res = await request(svc, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, { 'content-type': 'application/json' });
      assert.equal(JSON.parse(Buffer.from(res.json().token.split('.')[0], 'base64url').toString()).kid, legacy.kid, 'the migrated key still signs');
      assert.ok(logs.some((l) => l.includes(legacy.kid) && /sealed now/.test(l)), logs.join('\n'));
    } finally {
      await svc.stop();
    }
    assert.deepEqual(found(sqliteBytes(db), n), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: a legacy plaintext row is sealed at start; neither SELECT of the column nor pg_dump shows a private key', async () => {
  const pg = await startPostgres();
  try {
    const legacy = await createSigningKey('https://127.0.0.1:1', Date.now() - 1000, testKeyProtector);
    const n = await needles(legacy);
    const pem = createPrivateKey({ key: n.get('PKCS#8 DER of the key')!, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    await (await openServiceStore(pg.url)).close();
    await pg.sql(`INSERT INTO confkube_signing_keys (kid, sealed_private_key, certificate_pem, created_at, active_from) VALUES ('${legacy.kid}', '${pem}', '${legacy.certificatePem}', ${legacy.createdAt}, ${legacy.activeFrom})`);
    // pg_dump where the server's binaries include it (Debian's); else every row of every table as text (the npm
    // server has no pg_dump), which holds the same column values.
    const pgDump = join(postgresBinDir(), 'pg_dump');
    const dump = async (): Promise<Buffer> => {
      if (existsSync(pgDump)) {
        const r = spawnSync(pgDump, ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'confkube', '-d', 'postgres'], { maxBuffer: 64 << 20 });
        assert.equal(r.status, 0, r.stderr?.toString());
        return r.stdout;
      }
      const tables = (await pg.sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).split('\n').filter(Boolean);
      const rows = await Promise.all(tables.map((t) => pg.sql(`SELECT row_to_json(x)::text FROM "${t}" x`)));
      return Buffer.from(rows.join('\n'));
    };
    assert.ok(found(await dump(), n).includes('PEM armour'), 'the search finds a plaintext key when there is one');

    const svc = await startService({ store: await openServiceStore(pg.url), closeStore: true });
    await svc.stop();
    const column = await pg.sql('SELECT sealed_private_key FROM confkube_signing_keys');
    assert.match(column, /^confkube-sealed:v1:aes-256-gcm:[0-9a-f]{16}:/);
    assert.deepEqual(found(Buffer.from(column), n), []);
    assert.deepEqual(found(await dump(), n), []);
  } finally {
    await pg.stop();
  }
});

test('a sealed key opens only under its KEK and in its own row', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  try {
    const store = await openServiceStore(`sqlite:${join(dir, 'k.db')}`);
    await new Keyring(store, 'https://127.0.0.1:1', Date.now, { protector: testKeyProtector }).init();
    const other = new AesGcmKeyProtector(Buffer.alloc(32, 9));
    await assert.rejects(new Keyring(store, 'https://127.0.0.1:1', Date.now, { protector: other }).init(),
      (e: Error & { code?: string }) => e.code === 'ERR_KEY_PROTECTION' && e.message.includes(other.id) && e.message.includes(testKeyProtector.id));
    // An attacker with write access swaps the sealed value of another key into this row: AAD binds it to its kid.
    const [first] = await store.listSigningKeys();
    const second = await createSigningKey('https://127.0.0.1:1', Date.now(), testKeyProtector);
    await store.addSigningKey({ ...second, kid: 'swapped', sealedPrivateKey: first!.sealedPrivateKey });
    await assert.rejects(new Keyring(store, 'https://127.0.0.1:1', Date.now, { protector: testKeyProtector }).reload(),
      (e: Error & { code?: string }) => e.code === 'ERR_KEY_PROTECTION' && /swapped/.test(e.message));
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store files or folder other users can read are reported at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  try {
    const folder = join(dir, 'open');
    mkdirSync(folder, { mode: 0o755 });
    chmodSync(folder, 0o755);
    writeFileSync(join(folder, 'c.db'), '', { mode: 0o644 });
    chmodSync(join(folder, 'c.db'), 0o644);
    const warnings: string[] = [];
    const s = await openServiceStore(`sqlite:${join(folder, 'c.db')}`, { warn: (m) => warnings.push(m) });
    await s.close();
    assert.ok(warnings.some((w) => /store folder .*0755/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /c\.db has mode 0644/.test(w)), warnings.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confkube serve refuses to start without --store or without a key-encryption key, saying what to give', async () => {
  const env = { CONFKUBE_KEK: '', CONFKUBE_KEK_FILE: '', CONFKUBE_STORE: '' };
  const noStore = runCli(['serve', '--listen', '127.0.0.1:0', '--collateral', REAL_CASE.collateral], { env });
  assert.equal(noStore.status, 2, noStore.stderr);
  assert.match(noStore.stderr, /--store is required/);
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  try {
    const noKek = runCli(['serve', '--listen', '127.0.0.1:0', '--collateral', REAL_CASE.collateral, '--store', `sqlite:${join(dir, 'x.db')}`], { env });
    assert.equal(noKek.status, 2, noKek.stderr);
    assert.match(noKek.stderr, /no key-encryption key: give --kek-file/);
    assert.equal(existsSync(join(dir, 'x.db')), false, 'nothing is created before the KEK is known');
    writeFileSync(join(dir, 'kek'), 'short\n', { mode: 0o600 });
    const badKek = runCli(['serve', '--listen', '127.0.0.1:0', '--collateral', REAL_CASE.collateral, '--store', `sqlite:${join(dir, 'x.db')}`, '--kek-file', join(dir, 'kek')], { env });
    assert.equal(badKek.status, 2);
    assert.match(badKek.stderr, /32 random bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store a simulation-mode service used is refused by a service with simulation off (and a pre-mark store by its audit log)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-host-'));
  try {
    const { simulatedPlatformIn } = await import('../../src/cli/service-runtime.js');
    const { platform } = await simulatedPlatformIn(join(dir, 'sim'));
    const url = `sqlite:${join(dir, 'demo.db')}`;
    const sim = await startService({ store: await openServiceStore(url), closeStore: true, collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } } });
    await sim.stop();
    const reopened = await openServiceStore(url);
    await assert.rejects(startService({ store: reopened }), (e: Error & { code?: string }) => e.code === 'ERR_STORE_SIMULATED' && /simulated material/.test(e.message));
    await reopened.close();

    const legacy = await openServiceStore(`sqlite:${join(dir, 'legacy.db')}`);
    await legacy.appendAudit({ time: 1, clientAddress: '127.0.0.1', attestationType: 'SgxEnclave', mrEnclave: null, mrSigner: null, tcbStatus: 'UpToDate', decision: 'permit', policyHash: null, tokenId: 'j', simulated: true });
    await assert.rejects(startService({ store: legacy }), (e: Error & { code?: string }) => e.code === 'ERR_STORE_SIMULATED');
    await legacy.close();

    const prod = await startService({ store: await openServiceStore(`sqlite:${join(dir, 'prod.db')}`), closeStore: true });
    await prod.stop();
    const again = await startService({ store: await openServiceStore(`sqlite:${join(dir, 'prod.db')}`), closeStore: true });
    await again.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
