// The dashboard at 1,000,000 audit records, on SQLite and on PostgreSQL, each number next to an anchor measured
// in the same run on the same table:
//  - one aggregation (time buckets × decision × TCB status over 30 days, the attestation page's query) against a
//    plain `SELECT count(*)` of the whole table and against a count of the same time range (the same index range
//    read without grouping); the default 24 h view too;
//  - the first render over HTTPS: the page, its files and its data calls (session, attestations, the first audit
//    page), as the browser asks for them, against as many GETs of a constant route (/.well-known/openid-configuration);
//  - with Chromium installed, the headless navigation to the drawn attestation plot against one to the login form.
// Usage: npm run bench:dashboard [-- --records 1000000 --runs 5]
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore, type Store } from '../src/store/index.js';
import { startPostgres } from '../support/postgres.js';
import { REAL_CASE, request, startService, type Running } from '../support/attestation-service.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RECORDS = arg('records', 1_000_000);
const RUNS = arg('runs', 5);
const DAY = 86_400_000;
const SPAN = 30 * DAY;
const ADMIN = 'bench-dashboard-admin-token-0123456789ab';
const CHROMIUM = '/usr/bin/chromium';

/** Median wall time (ms) of RUNS calls of FN, after one warm-up call. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
}

const rows: { backend: string; what: string; ms: number; anchor: string; anchorMs: number; ratio: number }[] = [];
function report(backend: string, what: string, ms: number, anchor: string, anchorMs: number): void {
  rows.push({ backend, what, ms: Number(ms.toFixed(1)), anchor, anchorMs: Number(anchorMs.toFixed(1)), ratio: Number((ms / anchorMs).toFixed(2)) });
  console.log(`${backend.padEnd(9)} ${what.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms   ${anchor.padEnd(40)} ${anchorMs.toFixed(1).padStart(9)} ms   ×${(ms / anchorMs).toFixed(2)}`);
}

// Records spread over 30 days before END: 3 types (1 in 10 a key release), 3 decisions, 4 TCB statuses.
const END = Date.now();
const START = END - SPAN;

function loadSqlite(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ins = db.prepare(`INSERT INTO audit (time, client_address, attestation_type, mr_enclave, mr_signer, tcb_status, decision, policy_hash, token_id, simulated, reason, advisory_ids)
    VALUES (?, '10.0.0.1', ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, ?)`);
  const statuses = ['UpToDate', 'SWHardeningNeeded', 'OutOfDate', null];
  const decisions = ['permit', 'permit', 'permit', 'deny', 'error'];
  db.transaction(() => {
    for (let i = 0; i < RECORDS; i++) {
      ins.run(START + Math.floor((i / RECORDS) * SPAN), i % 10 === 0 ? 'keyrelease/db' : 'SgxEnclave', (i % 97).toString(16).padStart(64, '0'), 'bb'.repeat(32),
        statuses[i % 4], decisions[i % 5], i % 4 === 1 ? 'INTEL-SA-00219 INTEL-SA-00615' : null);
    }
  })();
  db.pragma('optimize');
  db.close();
}

async function loadPostgres(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`INSERT INTO confkube_audit (time, client_address, attestation_type, mr_enclave, mr_signer, tcb_status, decision, policy_hash, token_id, simulated, reason, advisory_ids)
      SELECT $1::bigint + (i::bigint * $2::bigint / $3::bigint), '10.0.0.1', CASE WHEN i % 10 = 0 THEN 'keyrelease/db' ELSE 'SgxEnclave' END,
        lpad(to_hex(i % 97), 64, '0'), repeat('bb', 32), (ARRAY['UpToDate', 'SWHardeningNeeded', 'OutOfDate', NULL])[i % 4 + 1],
        (ARRAY['permit', 'permit', 'permit', 'deny', 'error'])[i % 5 + 1], NULL, NULL, false, NULL, CASE WHEN i % 4 = 1 THEN 'INTEL-SA-00219 INTEL-SA-00615' END
      FROM generate_series(0, $3::bigint - 1) AS i`, [START, SPAN, RECORDS]);
    // As autovacuum would: statistics for the planner and the visibility map for index-only scans.
    await c.query('VACUUM ANALYZE confkube_audit');
  } finally {
    await c.end();
  }
}

/** `SELECT count(*)` of the table, and of the aggregation's time range (the same index range, without grouping). */
async function countAnchors(kind: string, url: string): Promise<{ table: () => Promise<unknown>; range: () => Promise<unknown>; close: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    const table = db.prepare('SELECT count(*) AS n FROM audit');
    const range = db.prepare('SELECT count(*) AS n FROM audit WHERE time >= ? AND time < ?');
    return { table: async () => table.get(), range: async () => range.get(START, END + 1), close: async () => { db.close(); } };
  }
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return {
    table: () => c.query('SELECT count(*) FROM confkube_audit'),
    range: () => c.query('SELECT count(*) FROM confkube_audit WHERE time >= $1 AND time < $2', [START, END + 1]),
    close: () => c.end(),
  };
}

/** The requests a first visit makes, in the browser's order: page, files, then the data calls. */
async function firstRender(svc: Running, cookie: string): Promise<void> {
  const page = await request(svc, 'GET', '/ui/', undefined, { cookie });
  if (page.status !== 200) throw new Error(`GET /ui/: ${page.status}`);
  const files = ['/ui/vendor/uPlot.min.css', '/ui/static/style.css', '/ui/static/app.js', '/ui/static/api.js', '/ui/vendor/preact.mjs', '/ui/vendor/hooks.mjs', '/ui/vendor/htm.mjs',
    '/ui/static/pages-trust.js', '/ui/static/pages-policy.js', '/ui/static/pages-cluster.js', '/ui/static/plot.js', '/ui/vendor/uPlot.esm.js'];
  await Promise.all(files.map((f) => request(svc, 'GET', f, undefined, { cookie })));
  const now = Date.now();
  const data = await Promise.all([
    request(svc, 'GET', '/ui/api/session', undefined, { cookie }),
    request(svc, 'GET', `/ui/api/attestations?from=${now - DAY}&to=${now}`, undefined, { cookie }),
    request(svc, 'GET', '/ui/api/audit?kind=attestation&limit=25', undefined, { cookie }),
  ]);
  for (const r of data) if (r.status !== 200) throw new Error(`data call: ${r.status} ${r.text}`);
}

async function constantGets(svc: Running, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, () => request(svc, 'GET', '/.well-known/openid-configuration')));
}

async function headless(svc: Running, cookie: string, backend: string): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`${backend.padEnd(9)} headless first paint: skipped (${CHROMIUM} not installed)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, url: svc.url, secure: true, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    // From a blank page each time, so every run is a whole navigation (a hash change alone would not load anything).
    const plot = await median(async () => {
      await page.goto('about:blank');
      await page.goto(`${svc.url}/ui/#attestations`);
      await page.getByTestId('plot-decision').locator('canvas').waitFor();
    });
    const login = await median(async () => {
      await page.goto('about:blank');
      await page.goto(`${svc.url}/ui/login`, { waitUntil: 'load' });
      await page.locator('#token').waitFor();
    });
    report(backend, 'headless: attestation plot drawn', plot, 'headless: login form shown', login);
  } finally {
    await browser.close();
  }
}

async function run(backend: string, url: string, stopBackend: () => Promise<void>): Promise<void> {
  let store: Store = await openStore(url);
  await store.close();
  const t0 = performance.now();
  if (backend === 'sqlite') loadSqlite(url.slice('sqlite:'.length));
  else await loadPostgres(url);
  console.log(`${backend.padEnd(9)} loaded ${RECORDS.toLocaleString('en')} audit records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  store = await openStore(url);
  const anchors = await countAnchors(backend, url);
  try {
    const agg = await median(() => store.aggregateAudit({ from: START, to: END + 1, bucketMs: 6 * 3_600_000, kind: 'attestation' }));
    report(backend, 'aggregateAudit, 30 days in 6 h buckets', agg, 'SELECT count(*) of the table', await median(anchors.table));
    report(backend, 'aggregateAudit, 30 days in 6 h buckets', agg, 'SELECT count(*) of the same time range', await median(anchors.range));
    const day = await median(() => store.aggregateAudit({ from: END - DAY, to: END + 1, bucketMs: 15 * 60_000, kind: 'attestation' }));
    report(backend, 'aggregateAudit, last 24 h in 15 min buckets', day, 'SELECT count(*) of the table', await median(anchors.table));
    const svc = await startService({ store, adminTokens: [ADMIN], collateral: { directory: REAL_CASE.collateral } });
    try {
      const login = await request(svc, 'POST', '/ui/api/login', JSON.stringify({ token: ADMIN }), { 'content-type': 'application/json' });
      const cookie = String(([] as string[]).concat(login.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const render = await median(() => firstRender(svc, cookie));
      const constant = await median(() => constantGets(svc, 16));
      report(backend, 'first render: page + 12 files + 3 data calls', render, '16 GETs of a constant route', constant);
      await headless(svc, cookie, backend);
    } finally {
      await svc.stop();
    }
  } finally {
    await anchors.close();
    await store.close();
    await stopBackend();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'confkube-bench-dashboard-'));
try {
  await run('sqlite', `sqlite:${join(dir, 'store.db')}`, async () => undefined);
  const server = await startPostgres();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench_dashboard');
  await admin.end();
  await run('postgres', server.url.replace(/\/postgres$/, '/bench_dashboard'), () => server.stop());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ records: RECORDS, runs: RUNS, results: rows }));
