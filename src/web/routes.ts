import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../attestation/context.js';
import { AttestationError } from '../attestation/errors.js';
import { DashboardAssetError, loadAssets, type Asset, type Assets } from './assets.js';
import { Sessions, type SessionOptions } from './session.js';
import { apiRoutes, type DashboardReads } from './api.js';
import type { ClusterSource } from './cluster.js';
import type { Planner } from './plan.js';

export interface DashboardOptions {
  /** The live cluster for the nodes and pools page and for plans against existing nodes; none: the page says so. */
  cluster?: ClusterSource;
  /** The capacity planner behind the planner page. */
  planner?: Planner;
  sessions?: SessionOptions;
}

/** The store's reads the dashboard needs; a store without them (a test double) gets a 503 that says so. */
function readsOf(ctx: ServiceContext): DashboardReads | null {
  const s = ctx.store as unknown as Partial<DashboardReads>;
  return typeof s.aggregateAudit === 'function' && typeof s.auditAdvisories === 'function' && typeof s.policyHistory === 'function' ? (s as DashboardReads) : null;
}

/**
 * The dashboard at `/ui` (docs/dashboard.md): the pages, the login, the files, and the JSON API under `/ui/api/`.
 * Every answer under /ui carries a strict Content-Security-Policy: scripts, styles and data come from the service.
 */
export function dashboardRoutes(app: FastifyInstance, ctx: ServiceContext, o: DashboardOptions = {}, warn: (m: string) => void = () => undefined): Sessions | null {
  let assets: Assets;
  try {
    assets = loadAssets();
  } catch (e) {
    if (!(e instanceof DashboardAssetError)) throw e;
    // The service's API does not depend on the dashboard: it starts, and /ui says what is missing.
    warn(`dashboard disabled: ${e.message}`);
    app.get('/ui', async () => { throw new AttestationError(503, 'ServiceUnavailable', `dashboard disabled: ${e.message}`, 'ERR_DASHBOARD_ASSET'); });
    return null;
  }
  const sessions = new Sessions(ctx.admin, ctx.now, o.sessions);
  const send = (reply: FastifyReply, a: Asset): FastifyReply => reply.type(a.type).send(a.body);

  app.addHook('onSend', async (req, reply) => {
    if (!req.url.startsWith('/ui')) return;
    reply.header('content-security-policy', assets.csp);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
  });

  const page = (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (!sessions.caller(req)) return reply.redirect('/ui/login', 303);
    return reply.type('text/html; charset=utf-8').send(assets.page);
  };
  app.get('/ui', page);
  app.get('/ui/', page);
  app.get('/ui/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.login));
  app.get<{ Params: { name: string } }>('/ui/static/:name', async (req, reply) => {
    const a = assets.own.get(req.params.name);
    if (!a) throw new AttestationError(404, 'NotFound', `no dashboard file ${JSON.stringify(req.params.name.slice(0, 60))}`);
    return send(reply, a);
  });
  app.get<{ Params: { name: string } }>('/ui/vendor/:name', async (req, reply) => {
    const a = assets.vendor.get(req.params.name);
    if (!a) throw new AttestationError(404, 'NotFound', `no dashboard library ${JSON.stringify(req.params.name.slice(0, 60))}`);
    return send(reply, a);
  });

  app.post<{ Body: { token?: unknown } }>('/ui/api/login', {
    schema: { body: { type: 'object', properties: { token: { type: 'string', maxLength: 4096 } }, required: ['token'] } },
  }, async (req, reply) => {
    const c = sessions.login(req.body.token, req, reply);
    return { role: c.role, who: c.who, csrf: c.csrf };
  });
  app.post('/ui/api/logout', async (req, reply) => {
    sessions.logout(req, reply);
    return reply.code(204).send();
  });
  app.get('/ui/api/session', async (req) => {
    const c = sessions.require(req);
    return { role: c.role, who: c.who, csrf: c.csrf };
  });

  apiRoutes(app, ctx, { sessions, reads: readsOf(ctx), ...(o.cluster ? { cluster: o.cluster } : {}), ...(o.planner ? { planner: o.planner } : {}) });
  return sessions;
}
