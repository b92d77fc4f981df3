// Store throughput, each number next to an anchor measured in the same run on the same disk:
//  - appendAudit (durable: resolves after fsync / COMMIT) against a bare durable file append (write + fdatasync),
//    the floor any durable store pays per record when records are written one at a time;
//  - policyVersion (polled by every replica every ~250 ms) against a bare `SELECT 1` on the same driver.
// PostgreSQL is a throwaway server from the Debian package binaries (test/helpers/postgres.ts).
// Usage: npm run bench:store [-- --seconds 2 --concurrency 16]
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore, type AuditRecord, type Store } from '../src/store/index.js';
import { startPostgres } from '../support/postgres.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 2);
const CONCURRENCY = arg('concurrency', 16);

/** Operations per second of OP, run by N concurrent loops for SECONDS. */
async function rate(op: (i: number) => unknown, n = 1): Promise<number> {
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, async () => {
    while (performance.now() < end) await op(count++);
  }));
  return count / ((performance.now() - t0) / 1000);
}

const record = (i: number): AuditRecord => ({
  time: Date.now(), clientAddress: '127.0.0.1', attestationType: 'SgxEnclave', mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32),
  tcbStatus: 'UpToDate', decision: 'permit', policyHash: 'cc'.repeat(32), tokenId: `bench-${i}`, simulated: false,
});

const rows: { what: string; opsPerSec: number; anchor: string; ratio: number }[] = [];
function report(what: string, opsPerSec: number, anchorName: string, anchor: number): void {
  rows.push({ what, opsPerSec: Math.round(opsPerSec), anchor: anchorName, ratio: Number((opsPerSec / anchor).toFixed(2)) });
}

async function storeRuns(name: string, store: Store, appendAnchor: number, readAnchorName: string, readAnchor: number): Promise<void> {
  await store.setPolicy({ attestationType: 'SgxEnclave', text: 'p', jws: 'j', hash: 'h', setAt: 1, setBy: 'bench' });
  report(`${name} appendAudit, 1 in flight`, await rate((i) => store.appendAudit(record(i))), 'durable file append', appendAnchor);
  report(`${name} appendAudit, ${CONCURRENCY} in flight`, await rate((i) => store.appendAudit(record(i)), CONCURRENCY), 'durable file append', appendAnchor);
  report(`${name} policyVersion`, await rate(() => store.policyVersion()), readAnchorName, readAnchor);
  report(`${name} getPolicy`, await rate(() => store.getPolicy('SgxEnclave')), readAnchorName, readAnchor);
}

const dir = mkdtempSync(join(tmpdir(), 'confkube-bench-store-'));
const server = await startPostgres();
try {
  const fd = openSync(join(dir, 'anchor.log'), 'a');
  const line = Buffer.from(`${JSON.stringify(record(0))}\n`);
  const appendAnchor = await rate(() => { writeSync(fd, line); fdatasyncSync(fd); });
  closeSync(fd);
  report('anchor: durable file append (write + fdatasync)', appendAnchor, 'itself', appendAnchor);

  const raw = new Database(join(dir, 'anchor.db'));
  const select1 = raw.prepare('SELECT 1');
  const sqliteRead = await rate(() => select1.get());
  raw.close();
  report('anchor: better-sqlite3 SELECT 1', sqliteRead, 'itself', sqliteRead);

  const sqlite = await openStore(`sqlite:${join(dir, 'bench.db')}`);
  await storeRuns('sqlite', sqlite, appendAnchor, 'better-sqlite3 SELECT 1', sqliteRead);
  await sqlite.close();

  const pool = new pg.Pool({ connectionString: server.url });
  const pgRead = await rate(() => pool.query('SELECT 1'));
  await pool.end();
  report('anchor: pg SELECT 1 over loopback', pgRead, 'itself', pgRead);

  const postgres = await openStore(server.url);
  await storeRuns('postgres', postgres, appendAnchor, 'pg SELECT 1', pgRead);
  await postgres.close();
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
console.table(rows);
