// Store URLs and unreachable databases. The PostgreSQL cases use a real server started from the Debian package
// binaries (test/helpers/postgres.ts), and a port on 127.0.0.1 where nothing listens.
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, parseStoreUrl, redactUrl } from '../../src/store/index.js';
import Database from 'better-sqlite3';
import { startPostgres } from '../helpers/postgres.js';
import { fixture } from './helpers/records.js';

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp, notIn?: string): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    if (notIn) assert.ok(!e.message.includes(notIn), `message reveals "${notIn}": ${e.message}`);
    return true;
  });
}

function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('store URLs name a backend and a location', () => {
  assert.deepEqual(parseStoreUrl('sqlite:/var/lib/confkube/store.db'), { kind: 'sqlite', path: '/var/lib/confkube/store.db' });
  assert.deepEqual(parseStoreUrl('sqlite:data/store.db'), { kind: 'sqlite', path: 'data/store.db' });
  assert.deepEqual(parseStoreUrl('sqlite:./.confkube/confkube.db'), { kind: 'sqlite', path: './.confkube/confkube.db' });
  assert.deepEqual(parseStoreUrl('sqlite:///abs/store.db'), { kind: 'sqlite', path: '/abs/store.db' });
  assert.deepEqual(parseStoreUrl('sqlite://localhost/abs/store.db'), { kind: 'sqlite', path: '/abs/store.db' });
  assert.deepEqual(parseStoreUrl('SQLite:/x.db'), { kind: 'sqlite', path: '/x.db' });
  assert.deepEqual(parseStoreUrl('/bare/path.db'), { kind: 'sqlite', path: '/bare/path.db' });
  assert.deepEqual(parseStoreUrl('relative.db'), { kind: 'sqlite', path: 'relative.db' });
  assert.deepEqual(parseStoreUrl('postgres://u:pw@db.example:5433/confkube?sslmode=require'),
    { kind: 'postgres', connectionString: 'postgres://u:pw@db.example:5433/confkube?sslmode=require', redacted: 'postgres://u:***@db.example:5433/confkube?sslmode=require' });
  assert.equal(parseStoreUrl('postgresql://db/confkube').kind, 'postgres');
  assert.equal(parseStoreUrl('postgres:///confkube?host=/var/run/postgresql').kind, 'postgres');
  assert.equal(redactUrl('postgres://u:secret@h/db'), 'postgres://u:***@h/db');
});

const BAD_URLS: [string, RegExp][] = [
  ['', /empty/],
  ['   ', /empty/],
  ['sqlite:', /no file path/],
  ['sqlite://', /no file path/],
  ['sqlite://db.example/x.db', /host "db.example" is not allowed/],
  ['mysql://u@h/db', /unknown scheme "mysql:"/],
  ['https://attest.example/', /unknown scheme "https:"/],
  ['postgres://u:hunter2@h:99999/db', /not a valid PostgreSQL URL|out of range/],
  ['postgres://u:hunter2@h:port/db', /not a valid PostgreSQL URL/],
  ['postgres://', /no host/],
  ['postgresql:///db', /no host/],
  ['sqlite:/x\u0000.db', /NUL/],
];

test('bad store URLs are ERR_STORE_URL, from parseStoreUrl and from openStore, and never show a password', async () => {
  for (const [url, msg] of BAD_URLS) {
    assert.throws(() => parseStoreUrl(url), (e: Error & { code?: string }) => e.code === 'ERR_STORE_URL' && msg.test(e.message) && !e.message.includes('hunter2'), url);
    await rejectsWith(openStore(url), 'ERR_STORE_URL', msg, 'hunter2');
  }
});

test('property: any string is a location or ERR_STORE_URL, never another error; a password never shows', () => {
  const password = 'pw-7f3a9c';
  fc.assert(fc.property(fc.oneof(
    fc.string(),
    fc.string().map((s) => `sqlite:${s}`),
    fc.string().map((s) => `postgres://u:${password}@${s}`),
    fc.webUrl().map((u) => u.replace(/^https?:/, 'postgresql:').replace('//', `//u:${password}@`)),
  ), (url) => {
    try {
      const loc = parseStoreUrl(url);
      if (loc.kind === 'postgres') assert.ok(!loc.redacted.includes(password), loc.redacted);
      else assert.ok(loc.path.length > 0);
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'ERR_STORE_URL', String(e));
      assert.ok(!(e as Error).message.includes(password), (e as Error).message);
    }
  }), { numRuns: 2000 });
});

test('SQLite: a missing folder, a folder, and a file that is not a database are ERR_STORE_UNAVAILABLE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-open-'));
  try {
    await rejectsWith(openStore(`sqlite:${join(dir, 'no-such-folder', 'store.db')}`), 'ERR_STORE_UNAVAILABLE', /no-such-folder/);
    mkdirSync(join(dir, 'a-folder'));
    await rejectsWith(openStore(join(dir, 'a-folder')), 'ERR_STORE_UNAVAILABLE', /a-folder/);
    const notDb = join(dir, 'crl.db');
    writeFileSync(notDb, fixture('pck_platform_crl.der'));
    await rejectsWith(openStore(`sqlite:${notDb}`), 'ERR_STORE_UNAVAILABLE', /not a database/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SQLite: the file is in WAL mode, and an appended record is visible to another connection when the append resolves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-open-'));
  try {
    const path = join(dir, 'store.db');
    const s = await openStore(`sqlite:${path}`);
    const other = new Database(path, { readonly: true });
    try {
      assert.equal(other.pragma('journal_mode', { simple: true }), 'wal');
      const id = await s.appendAudit({ time: 1, clientAddress: 'x', attestationType: 'SgxEnclave', mrEnclave: null, mrSigner: null, tcbStatus: null, decision: 'permit', policyHash: null, tokenId: 'seen', simulated: false });
      assert.deepEqual(other.prepare('SELECT id, token_id FROM audit').all(), [{ id, token_id: 'seen' }]);
    } finally {
      other.close();
      await s.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: nothing listening is ERR_STORE_UNAVAILABLE, and the message hides the password', async () => {
  const port = await unusedPort();
  await rejectsWith(openStore(`postgres://confkube:hunter2@127.0.0.1:${port}/confkube`), 'ERR_STORE_UNAVAILABLE', new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`), 'hunter2');
});

test('PostgreSQL: a missing database or role is ERR_STORE_UNAVAILABLE; a server that goes down turns calls into ERR_STORE_UNAVAILABLE', async () => {
  const pg = await startPostgres();
  let stopped = false;
  try {
    await rejectsWith(openStore(pg.url.replace(/\/postgres$/, '/no_such_db')), 'ERR_STORE_UNAVAILABLE', /no_such_db/);
    await rejectsWith(openStore(pg.url.replace('confkube@', 'nobody@')), 'ERR_STORE_UNAVAILABLE', /nobody/);
    // A URL that insists on asynchronous commit cannot give durable audit records: refused, not silently accepted.
    await rejectsWith(openStore(`${pg.url}?options=${encodeURIComponent('-c synchronous_commit=off')}`), 'ERR_STORE_QUERY', /synchronous_commit stays off/);
    const s = await openStore(pg.url);
    try {
      await s.setPolicy({ attestationType: 'SgxEnclave', text: 't', jws: 'j', hash: 'h', setAt: 1, setBy: 'x' });
      assert.equal(await s.policyVersion(), 1);
      await pg.stop();
      stopped = true;
      await rejectsWith(s.policyVersion(), 'ERR_STORE_UNAVAILABLE');
      await rejectsWith(s.appendAudit({ time: 1, clientAddress: 'x', attestationType: 'SgxEnclave', mrEnclave: null, mrSigner: null, tcbStatus: null, decision: 'permit', policyHash: null, tokenId: null, simulated: false }), 'ERR_STORE_UNAVAILABLE');
      await rejectsWith(s.setPolicy({ attestationType: 'SgxEnclave', text: 't2', jws: 'j', hash: 'h', setAt: 1, setBy: 'x' }), 'ERR_STORE_UNAVAILABLE');
    } finally {
      await s.close();
    }
  } finally {
    if (!stopped) await pg.stop();
  }
});
