// The dashboard's audit reads on both backends: the aggregation agrees with a naive count of the same records,
// keyset paging returns every record once in order, advisories round-trip, and the aggregation reads the index.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import pg from 'pg';
import { openStore, type AuditBucketCount, type AuditKind, type AuditRecord, type Store } from '../../src/store/index.js';
import { BACKENDS, startBackend, type Backend } from './helpers/backends.js';
import { audit } from './helpers/records.js';
import { aggregateSql } from '../../src/store/audit-sql.js';

const T0 = 1_750_000_000_000;
const TYPES = ['SgxEnclave', 'OpenEnclave', 'keyrelease/db-key', 'management/policies:set/SgxEnclave'];
const STATUSES = [null, 'UpToDate', 'SWHardeningNeeded', 'OutOfDate'];
const DECISIONS = ['permit', 'deny', 'error'] as const;

function kindOf(type: string): AuditKind {
  if (type.startsWith('keyrelease/')) return 'keyrelease';
  if (type.startsWith('management/')) return 'management';
  return 'attestation';
}

/** What the aggregation must answer, counted one record at a time. */
function naive(records: AuditRecord[], from: number, to: number, bucketMs: number, kind?: AuditKind): AuditBucketCount[] {
  const m = new Map<string, AuditBucketCount>();
  for (const r of records) {
    if (r.time < from || r.time >= to || (kind && kindOf(r.attestationType) !== kind)) continue;
    const bucket = from + Math.floor((r.time - from) / bucketMs) * bucketMs;
    const k = `${bucket}|${r.decision}|${r.tcbStatus}`;
    const c = m.get(k) ?? { bucket, decision: r.decision, tcbStatus: r.tcbStatus, count: 0 };
    c.count++;
    m.set(k, c);
  }
  const rank = (s: string | null): string => (s === null ? '' : `~${s}`);
  return [...m.values()].sort((a, b) => a.bucket - b.bucket || a.decision.localeCompare(b.decision) || rank(a.tcbStatus).localeCompare(rank(b.tcbStatus)));
}

/** NULL sorts first in SQLite and last in PostgreSQL; compare as sets of rows. */
const canon = (rows: AuditBucketCount[]): string[] => rows.map((r) => JSON.stringify([r.bucket, r.decision, r.tcbStatus, r.count])).sort();

const recordArb = fc.record({
  dt: fc.integer({ min: 0, max: 3_600_000 }),
  type: fc.constantFrom(...TYPES),
  status: fc.constantFrom(...STATUSES),
  decision: fc.constantFrom(...DECISIONS),
});

for (const kind of BACKENDS) {
  describe(`store audit aggregation and paging (${kind})`, () => {
    let backend: Backend;
    const opened: Store[] = [];
    const fresh = async (): Promise<{ s: Store; url: string }> => {
      const url = await backend.freshUrl();
      const s = await openStore(url);
      opened.push(s);
      return { s, url };
    };
    before(async () => { backend = await startBackend(kind); });
    after(async () => {
      for (const s of opened) await s.close();
      await backend.stop();
    });

    test('aggregateAudit equals a naive count for generated records, ranges, bucket sizes and kinds', async () => {
      await fc.assert(fc.asyncProperty(
        fc.array(recordArb, { maxLength: 60 }),
        fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: 1, max: 900_000 }),
        fc.constantFrom<AuditKind | undefined>(undefined, 'attestation', 'keyrelease', 'management'),
        async (gen, fromOff, span, bucketMs, k) => {
          const { s } = await fresh();
          const records = gen.map((g, i) => audit(i, { time: T0 + g.dt, attestationType: g.type, tcbStatus: g.status, decision: g.decision }));
          await Promise.all(records.map((r) => s.appendAudit(r)));
          const from = T0 + fromOff;
          const to = from + span;
          if ((to - from) / bucketMs > 10_000) return;
          const got = await s.aggregateAudit({ from, to, bucketMs, ...(k ? { kind: k } : {}) });
          assert.deepEqual(canon(got), canon(naive(records, from, to, bucketMs, k)));
        },
      ), { numRuns: 15 });
    });

    test('queryAudit pages by id: every record once, newest first, per kind', async () => {
      const { s } = await fresh();
      const records = Array.from({ length: 57 }, (_, i) => audit(i, { attestationType: TYPES[i % 4]! }));
      const ids: number[] = [];
      for (const r of records) ids.push(await s.appendAudit(r));
      for (const k of [undefined, 'attestation', 'keyrelease'] as const) {
        const seen: number[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await s.queryAudit({ limit: 10, ...(before !== undefined ? { before } : {}), ...(k ? { kind: k } : {}) });
          seen.push(...page.map((r) => r.id!));
          if (page.length < 10) break;
          before = page[page.length - 1]!.id;
        }
        const want = ids.filter((_, i) => !k || kindOf(records[i]!.attestationType) === k).reverse();
        assert.deepEqual(seen, want, `kind ${k ?? 'all'}`);
      }
    });

    test('advisories round-trip sorted and unique, and are grouped per advisory set and enclave', async () => {
      const { s } = await fresh();
      await s.appendAudit(audit(1, { advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00219', 'INTEL-SA-00615'] }));
      await s.appendAudit(audit(2, { advisoryIds: ['INTEL-SA-00219', 'INTEL-SA-00615'], mrEnclave: audit(1).mrEnclave }));
      await s.appendAudit(audit(3, { advisoryIds: [] }));
      await s.appendAudit(audit(4));
      const [r4, r3, r2] = await s.queryAudit({ limit: 3 });
      assert.deepEqual(r2!.advisoryIds, ['INTEL-SA-00219', 'INTEL-SA-00615']);
      assert.equal(r3!.advisoryIds, undefined);
      assert.equal(r4!.advisoryIds, undefined);
      const got = await s.auditAdvisories({ from: T0, to: T0 + 10_000 });
      assert.deepEqual(got, [{ advisoryIds: ['INTEL-SA-00219', 'INTEL-SA-00615'], mrEnclave: audit(1).mrEnclave, count: 2, lastSeen: audit(2).time }]);
      await assert.rejects(s.appendAudit(audit(5, { advisoryIds: ['INTEL SA'] })), { code: 'ERR_STORE_ARGUMENT' });
    });

    test('bad aggregation and paging arguments are ERR_STORE_ARGUMENT', async () => {
      const { s } = await fresh();
      await assert.rejects(s.aggregateAudit({ from: 10, to: 5, bucketMs: 1 }), { code: 'ERR_STORE_ARGUMENT', message: /before from/ });
      await assert.rejects(s.aggregateAudit({ from: 0, to: 10, bucketMs: 0 }), { code: 'ERR_STORE_ARGUMENT', message: /positive/ });
      await assert.rejects(s.aggregateAudit({ from: 0, to: 1_000_000, bucketMs: 1 }), { code: 'ERR_STORE_ARGUMENT', message: /buckets/ });
      await assert.rejects(s.aggregateAudit({ from: 0, to: 10, bucketMs: 1, kind: 'x' as AuditKind }), { code: 'ERR_STORE_ARGUMENT', message: /kind/ });
      await assert.rejects(s.queryAudit({ before: 1.5 }), { code: 'ERR_STORE_ARGUMENT', message: /before/ });
    });

    test('the aggregation is answered from the (time, attestation_type, decision, tcb_status) index', async () => {
      const { s, url } = await fresh();
      await s.appendAudit(audit(1));
      if (kind === 'sqlite') {
        const db = new Database(url.slice('sqlite:'.length), { readonly: true });
        try {
          const args: unknown[] = [];
          const sql = aggregateSql('audit', { from: 0, to: 10_000, bucketMs: 1000, kind: 'attestation' }, (v) => (args.push(v), '?'), (p) => `CAST(${p} AS INTEGER)`);
          const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[];
          assert.ok(plan.some((p) => /USING COVERING INDEX audit_time_outcome/.test(p.detail)), JSON.stringify(plan));
        } finally {
          db.close();
        }
      } else {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          // A one-row table is scanned whatever the indexes; with scans off the planner shows the index it can use.
          await c.query('SET enable_seqscan = off');
          const plan = (await c.query('EXPLAIN SELECT decision, tcb_status, count(*) FROM confkube_audit WHERE time >= 0 AND time < 10 GROUP BY 1, 2')).rows.map((r) => String(r['QUERY PLAN'])).join('\n');
          assert.match(plan, /Index Only Scan using confkube_audit_time_outcome/);
        } finally {
          await c.end();
        }
      }
    });
  });
}
