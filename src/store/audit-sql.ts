import type { AdvisoryCount, AuditAggregateQuery, AuditKind, AuditQuery, AuditRecord } from './types.js';
import { StoreArgumentError } from './errors.js';
import { checkLimit, checkString, checkTime, DEFAULT_AUDIT_LIMIT, splitAdvisories, type Row } from './rows.js';

/**
 * The audit reads of the dashboard, written once for both backends: only the placeholder differs (`?` in
 * SQLite, `$n` in PostgreSQL), so `param` binds a value and returns its placeholder. Both backends group in
 * the database over the `(time, attestation_type, decision, tcb_status)` index, so an aggregation reads
 * index entries only (docs/dashboard.md §Aggregation).
 */
export type Param = (v: unknown) => string;

const KINDS = new Set<AuditKind>(['attestation', 'keyrelease', 'management']);

/** `substr` rather than LIKE: SQLite's LIKE ignores case and PostgreSQL's does not; `substr` means the same in both. */
function kindClause(kind: AuditKind): string {
  switch (kind) {
    case 'keyrelease': return "substr(attestation_type, 1, 11) = 'keyrelease/'";
    case 'management': return "substr(attestation_type, 1, 11) = 'management/'";
    case 'attestation': return "substr(attestation_type, 1, 11) NOT IN ('keyrelease/', 'management/')";
  }
}

function checkKind(kind: unknown): AuditKind | null {
  if (kind === undefined) return null;
  if (!KINDS.has(kind as AuditKind)) throw new StoreArgumentError(`audit kind must be attestation, keyrelease or management, got ${String(kind)}`);
  return kind as AuditKind;
}

/** Most buckets one aggregation may ask for: enough for a year by the hour, few enough to answer at once. */
export const MAX_BUCKETS = 10_000;

/** The WHERE and ORDER BY of a page of `queryAudit`, newest first (keyset paging on `id`). */
export function auditPageSql(table: string, q: AuditQuery, param: Param): string {
  const where: string[] = [];
  if (q.since !== undefined) {
    checkTime('audit query since', q.since);
    where.push(`time >= ${param(q.since)}`);
  }
  if (q.tokenId !== undefined) {
    checkString('audit query tokenId', q.tokenId);
    where.push(`token_id = ${param(q.tokenId)}`);
  }
  if (q.before !== undefined) {
    checkTime('audit query before', q.before);
    where.push(`id < ${param(q.before)}`);
  }
  const kind = checkKind(q.kind);
  if (kind !== null) where.push(kindClause(kind));
  const limit = checkLimit('audit query', q.limit, DEFAULT_AUDIT_LIMIT);
  return `SELECT * FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${param(limit)}`;
}

export function checkRange(what: string, from: unknown, to: unknown): void {
  checkTime(`${what} from`, from);
  checkTime(`${what} to`, to);
  if ((to as number) < (from as number)) throw new StoreArgumentError(`${what}: to (${String(to)}) is before from (${String(from)})`);
}

/**
 * Counts per bucket × decision × TCB status. The bucket is `from + ((time - from) / bucketMs) * bucketMs` in
 * integer arithmetic (both backends divide BIGINT/INTEGER by truncation; `time - from` is never negative here).
 */
export function aggregateSql(table: string, q: AuditAggregateQuery, param: Param, cast: (p: string) => string = (p) => p): string {
  checkRange('audit aggregation', q.from, q.to);
  checkTime('audit aggregation bucketMs', q.bucketMs);
  if (q.bucketMs < 1) throw new StoreArgumentError(`audit aggregation bucketMs must be positive, got ${q.bucketMs}`);
  if ((q.to - q.from) / q.bucketMs > MAX_BUCKETS) throw new StoreArgumentError(`audit aggregation: ${Math.ceil((q.to - q.from) / q.bucketMs)} buckets asked, at most ${MAX_BUCKETS}`);
  const kind = checkKind(q.kind);
  // Each use binds its own parameter: SQLite's `?` is positional.
  const from = (): string => cast(param(q.from));
  const size = (): string => cast(param(q.bucketMs));
  const bucket = `(${from()} + ((time - ${from()}) / ${size()}) * ${size()})`;
  return `SELECT ${bucket} AS bucket, decision, tcb_status, count(*) AS n FROM ${table}
    WHERE time >= ${from()} AND time < ${cast(param(q.to))}${kind ? ` AND ${kindClause(kind)}` : ''}
    GROUP BY 1, decision, tcb_status ORDER BY 1, decision, tcb_status`;
}

export function bucketFromRow(r: Row): { bucket: number; decision: AuditRecord['decision']; tcbStatus: string | null; count: number } {
  return { bucket: Number(r.bucket), decision: r.decision as AuditRecord['decision'], tcbStatus: (r.tcb_status as string | null) ?? null, count: Number(r.n) };
}

export function advisoriesSql(table: string, q: { from: number; to: number }, param: Param): string {
  checkRange('audit advisories', q.from, q.to);
  return `SELECT advisory_ids, mr_enclave, count(*) AS n, max(time) AS last_seen FROM ${table}
    WHERE time >= ${param(q.from)} AND time < ${param(q.to)} AND advisory_ids IS NOT NULL
    GROUP BY advisory_ids, mr_enclave ORDER BY advisory_ids, mr_enclave`;
}

export function advisoryFromRow(r: Row): AdvisoryCount {
  return { advisoryIds: splitAdvisories(r.advisory_ids), mrEnclave: (r.mr_enclave as string | null) ?? null, count: Number(r.n), lastSeen: Number(r.last_seen) };
}
