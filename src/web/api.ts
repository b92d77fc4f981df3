import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../attestation/context.js';
import { AttestationError, badRequest } from '../attestation/errors.js';
import { ATTESTATION_TYPES, type AttestationType } from '../attestation/policies.js';
import { parseJws, policyHash, unsecuredPolicyJws } from '../attestation/policy-jws.js';
import { ConfkubeError } from '../lib/errors.js';
import type { AuditKind, Store } from '../store/types.js';
import type { Sessions } from './session.js';
import { clusterSnapshot, type ClusterSource } from './cluster.js';
import { planRoutes, type Planner } from './plan.js';

/** The store's reads behind the dashboard (src/store: one index range scan each, docs/dashboard.md §Aggregation). */
export type DashboardReads = Pick<Store, 'aggregateAudit' | 'auditAdvisories' | 'policyHistory' | 'queryAudit' | 'listCollateral' | 'listPolicyCertificates'>;

export interface ApiDeps {
  sessions: Sessions;
  reads: DashboardReads | null;
  cluster?: ClusterSource;
  planner?: Planner;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Bucket sizes the plot steps through, so a range gets at most ~150 points. */
const BUCKETS = [60_000, 300_000, 900_000, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 7 * DAY];
export const PAGE_LIMIT_MAX = 200;
/** Collateral whose nextUpdate is this close is shown as expiring. */
const EXPIRING_MS = 7 * DAY;

/** A time in a query: integer milliseconds or an ISO 8601 string. */
function timeParam(v: unknown, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  if (typeof v !== 'string') throw badRequest(`${name}: expected milliseconds or an ISO time`);
  const t = /^-?\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(t)) throw badRequest(`${name}: ${JSON.stringify(v.slice(0, 40))} is neither milliseconds nor an ISO time`);
  return t;
}

function intParam(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined || v === '') return dflt;
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw badRequest(`${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(String(v).slice(0, 40))}`);
  return n;
}

export function bucketFor(spanMs: number): number {
  return BUCKETS.find((b) => spanMs / b <= 150) ?? BUCKETS[BUCKETS.length - 1]!;
}

/** Intel's page for an advisory id (`INTEL-SA-00615` → …/intel-sa-00615.html); null for any other form. */
export function advisoryUrl(id: string): string | null {
  return /^INTEL-SA-\d{5}$/i.test(id) ? `https://www.intel.com/content/www/us/en/security-center/advisory/${id.toLowerCase()}.html` : null;
}

/** A store failure stays typed (503 during an outage); only the store's argument errors are the caller's 400. */
function asRequestError(e: unknown): never {
  if (e instanceof ConfkubeError && e.code === 'ERR_STORE_ARGUMENT') throw badRequest(e.message);
  throw e;
}

export function apiRoutes(app: FastifyInstance, ctx: ServiceContext, d: ApiDeps): void {
  const reads = (req: FastifyRequest): DashboardReads => {
    d.sessions.require(req);
    if (!d.reads) throw new AttestationError(503, 'ServiceUnavailable', 'the dashboard needs a SQLite or PostgreSQL store', 'ERR_DASHBOARD_STORE');
    return d.reads;
  };

  app.get<{ Querystring: Record<string, string> }>('/ui/api/attestations', async (req) => {
    const r = reads(req);
    const to = timeParam(req.query.to, 'to', ctx.now());
    const from = timeParam(req.query.from, 'from', to - DAY);
    if (to <= from) throw badRequest(`from (${from}) must be before to (${to})`);
    const bucketMs = req.query.bucket ? intParam(req.query.bucket, 'bucket', 0, 1000, 30 * DAY) : bucketFor(to - from);
    const rows = await r.aggregateAudit({ from, to, bucketMs, kind: 'attestation' }).catch(asRequestError);
    const totals = { permit: 0, deny: 0, error: 0 };
    for (const x of rows) totals[x.decision] += x.count;
    return { from, to, bucketMs, rows, totals };
  });

  app.get<{ Querystring: Record<string, string> }>('/ui/api/audit', async (req) => {
    const r = reads(req);
    const kind = req.query.kind ?? 'attestation';
    if (!['attestation', 'keyrelease', 'management'].includes(kind)) throw badRequest(`kind: attestation, keyrelease or management, got ${JSON.stringify(kind.slice(0, 40))}`);
    const limit = intParam(req.query.limit, 'limit', 50, 1, PAGE_LIMIT_MAX);
    const before = req.query.before ? intParam(req.query.before, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
    // One more than asked says whether a next page exists without a count over the table.
    const got = await r.queryAudit({ kind: kind as AuditKind, limit: limit + 1, ...(before !== undefined ? { before } : {}) }).catch(asRequestError);
    const records = got.slice(0, limit);
    return { records, next: got.length > limit ? String(records[records.length - 1]!.id) : null };
  });

  app.get<{ Querystring: Record<string, string> }>('/ui/api/advisories', async (req) => {
    const r = reads(req);
    const to = timeParam(req.query.to, 'to', ctx.now());
    const from = timeParam(req.query.from, 'from', to - 30 * DAY);
    const rows = await r.auditAdvisories({ from, to }).catch(asRequestError);
    const by = new Map<string, { id: string; url: string | null; attestations: number; enclaves: Set<string>; lastSeen: number }>();
    for (const row of rows) {
      for (const id of row.advisoryIds) {
        const a = by.get(id) ?? { id, url: advisoryUrl(id), attestations: 0, enclaves: new Set<string>(), lastSeen: 0 };
        a.attestations += row.count;
        if (row.mrEnclave) a.enclaves.add(row.mrEnclave);
        a.lastSeen = Math.max(a.lastSeen, row.lastSeen);
        by.set(id, a);
      }
    }
    const advisories = [...by.values()].map((a) => ({ id: a.id, url: a.url, attestations: a.attestations, enclaves: a.enclaves.size, lastSeen: a.lastSeen }))
      .sort((a, b) => b.attestations - a.attestations || a.id.localeCompare(b.id));
    return { from, to, advisories };
  });

  app.get('/ui/api/collateral', async (req) => {
    const r = reads(req);
    const now = ctx.now();
    const items = (await r.listCollateral()).map((c) => ({
      key: c.key, bytes: c.body.byteLength, fetchedAt: c.fetchedAt, nextUpdate: c.nextUpdate,
      expiresInMs: c.nextUpdate === null ? null : c.nextUpdate - now,
      state: c.nextUpdate === null ? 'unknown' : c.nextUpdate <= now ? 'expired' : c.nextUpdate - now < EXPIRING_MS ? 'expiring' : 'fresh',
    }));
    return { now, items };
  });

  app.get('/ui/api/policies', async (req) => {
    const r = reads(req);
    const isolated = (await r.listPolicyCertificates()).length > 0;
    const types = [];
    for (const type of ATTESTATION_TYPES) {
      const p = ctx.policies.get(type);
      const history = (await r.policyHistory(type, 50)).map((h) => ({ version: h.version, hash: h.hash, setAt: h.setAt, setBy: h.setBy, reset: h.text === '' }));
      types.push({ type, current: { text: p.text, hash: p.hash, isDefault: p.isDefault, signed: p.signer !== null }, history });
    }
    return { isolated, types };
  });

  app.put<{ Params: { type: string }; Body: { text: string } }>('/ui/api/policies/:type', {
    schema: { body: { type: 'object', properties: { text: { type: 'string', minLength: 1 } }, required: ['text'], additionalProperties: false } },
  }, async (req, reply) => {
    const caller = d.sessions.requireAdminWrite(req);
    if (!(ATTESTATION_TYPES as readonly string[]).includes(req.params.type)) throw new AttestationError(400, 'InvalidAttestationType', `attestation type ${JSON.stringify(req.params.type.slice(0, 40))} has no policy here (SgxEnclave, OpenEnclave)`);
    const type = req.params.type as AttestationType;
    if (!d.reads) throw new AttestationError(503, 'ServiceUnavailable', 'the dashboard needs a SQLite or PostgreSQL store', 'ERR_DASHBOARD_STORE');
    if ((await d.reads.listPolicyCertificates()).length > 0) {
      // Isolated mode: a change must be a JWS signed by a registered certificate, which a browser form cannot make.
      throw new AttestationError(409, 'InvalidOperation', 'isolated mode: policies change only by a JWS signed with a registered policy certificate (PUT /policies/{type})');
    }
    const text = req.body.text;
    try {
      ctx.engine.compile(text);
    } catch (e) {
      // The policy language's errors name line and column (src/policy/errors.ts): the editor marks them in place.
      const err = e as { message: string; line?: unknown; column?: unknown };
      const at = typeof err.line === 'number' && typeof err.column === 'number' ? { line: err.line, column: err.column } : {};
      ctx.metrics.policyWrites.inc({ type, result: 'invalid' });
      return reply.code(400).send({ error: { code: 'InvalidPolicy', message: `policy: ${err.message}`, ...at } });
    }
    const raw = unsecuredPolicyJws(text);
    const jws = await parseJws(raw, 'policy', ctx.now());
    const rec = await ctx.signedRequests.exclusive(async () => {
      await ctx.signedRequests.admit({ op: 'policies:set', type, jws, caller: caller.who, clientAddress: req.ip }, 'policy');
      const stored = await ctx.store.setPolicy({ attestationType: type, text, jws: raw, hash: policyHash(text), setAt: ctx.now(), setBy: caller.who });
      await ctx.policies.refresh(true);
      return stored;
    });
    ctx.metrics.policyWrites.inc({ type, result: 'updated' });
    return { type, version: rec.version, hash: rec.hash, setBy: rec.setBy, setAt: rec.setAt };
  });

  app.get('/ui/api/cluster', async (req) => {
    d.sessions.require(req);
    if (!d.cluster) return { connected: false };
    const { nodes, pods } = await d.cluster.nodesAndPods();
    return { connected: true, ...clusterSnapshot(nodes, pods, d.cluster.usedByNode?.() ?? null, ctx.now()) };
  });

  planRoutes(app, d.sessions, d.planner, d.cluster);
}
