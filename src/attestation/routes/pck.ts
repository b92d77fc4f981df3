import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { ServiceContext } from '../context.js';
import { requireJson } from './content-type.js';
import type { PckCertAnswer, PckService } from '../../pccs/pck-service.js';
import { hexParam, invalid, MANIFEST_MAX_HEX, parsePlatform } from '../../pccs/platform.js';
import { exportCache, importCache, parseCacheInput, PccsFileError } from '../../pccs/cache-file.js';

const v4 = '/sgx/certification/v4';
const anyQuery = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** PCS sends a 32-hex-digit Request-ID with every answer; ours is the request's id. */
function requestId(req: FastifyRequest, reply: FastifyReply): void {
  reply.header('Request-ID', req.id.replace(/-/g, ''));
}

function sendPckCert(req: FastifyRequest, reply: FastifyReply, a: PckCertAnswer): string {
  requestId(req, reply);
  reply.header('content-type', 'application/x-pem-file');
  reply.header('SGX-PCK-Certificate-Issuer-Chain', encodeURIComponent(a.issuerChain));
  reply.header('SGX-TCBm', a.tcbm);
  reply.header('SGX-FMSPC', a.fmspc);
  reply.header('SGX-PCK-Certificate-CA-Type', a.ca);
  return a.cert;
}

/**
 * The PCS/PCCS v4 routes Intel's quote provider library calls to generate quotes (docs/pccs.md): PCK certificates
 * by platform, platform registration, and the admin routes for air-gapped clusters. Headers and status codes as
 * Intel's PCS documents them; errors in the service's error body.
 */
export function pckRoutes(app: FastifyInstance, ctx: ServiceContext, pck: PckService): void {
  const answers = new Counter({ name: 'confkube_pck_requests_total', help: 'PCK certificate requests (GET/POST pckcert, pckcerts, platforms) by route and HTTP status', labelNames: ['route', 'status'], registers: [ctx.metrics.registry] });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url;
    if (route === `${v4}/pckcert` || route === `${v4}/pckcerts` || (route === `${v4}/platforms` && req.method === 'POST')) answers.inc({ route: route.slice(v4.length + 1), status: String(reply.statusCode) });
  });
  app.get<{ Querystring: Record<string, string> }>(`${v4}/pckcert`, { schema: { querystring: anyQuery } }, async (req, reply) => {
    const q = req.query;
    const a = await pck.pckCert({
      qe_id: hexParam(q.qeid, 'qeid', 32),
      pce_id: hexParam(q.pceid, 'pceid', 4),
      cpu_svn: hexParam(q.cpusvn, 'cpusvn', 32),
      pce_svn: hexParam(q.pcesvn, 'pcesvn', 4),
      enc_ppid: hexParam(q.encrypted_ppid, 'encrypted_ppid', 768, { optional: true }),
    });
    return sendPckCert(req, reply, a);
  });

  // PCS v4: the platform-manifest form of Get PCK Certificate.
  app.post<{ Body: Record<string, unknown> }>(`${v4}/pckcert`, { preValidation: requireJson, schema: { body: { type: 'object' } } }, async (req, reply) => {
    const b = req.body;
    const a = await pck.pckCertByManifest({
      platform_manifest: hexParam(b.platformManifest, 'platformManifest', MANIFEST_MAX_HEX, { max: true }),
      pce_id: hexParam(b.pceid, 'pceid', 4),
      cpu_svn: hexParam(b.cpusvn, 'cpusvn', 32),
      pce_svn: hexParam(b.pcesvn, 'pcesvn', 4),
    });
    return sendPckCert(req, reply, a);
  });

  app.get<{ Querystring: Record<string, string> }>(`${v4}/pckcerts`, { schema: { querystring: anyQuery } }, async (req, reply) => {
    const q = req.query;
    const qe = hexParam(q.qeid, 'qeid', 32, { optional: true });
    const enc = hexParam(q.encrypted_ppid, 'encrypted_ppid', 768, { optional: true });
    if (!qe && !enc) throw invalid('pckcerts: give qeid or encrypted_ppid, with pceid');
    const { platform, issuerChain } = await pck.pckCerts({ qe_id: qe, pce_id: hexParam(q.pceid, 'pceid', 4), enc_ppid: enc });
    requestId(req, reply);
    reply.header('content-type', 'application/json');
    reply.header('SGX-PCK-Certificate-Issuer-Chain', encodeURIComponent(issuerChain));
    reply.header('SGX-FMSPC', platform.fmspc);
    reply.header('SGX-PCK-Certificate-CA-Type', platform.ca);
    // The stored body as PCS sent it (a Buffer, so no charset is added to Intel's content type).
    return Buffer.from(platform.pckcerts, 'utf8');
  });

  app.post<{ Body: unknown }>(`${v4}/platforms`, { preValidation: requireJson }, async (req, reply) => {
    await pck.register(parsePlatform(req.body));
    requestId(req, reply);
    return reply.code(201).send();
  });

  // Admin (Intel PCCS: GET /platforms for pccsadmin, PUT /platformcollateral): the bearer token, as every management call.
  app.get(`${v4}/platforms`, async (req) => {
    ctx.admin.check(req);
    return pck.registrations();
  });
  app.get(`${v4}/platformcollateral`, async (req) => {
    ctx.admin.check(req);
    return exportCache(pck, ctx.store);
  });
  // Intel PCCS `refresh`: `type=certs` fetches the cached platforms' PCK certificates again (optionally of some
  // FMSPCs, comma-separated); otherwise the cached FMSPCs' TCB Info, QE Identity and CRLs.
  const refresh = async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
    ctx.admin.check(req);
    const fmspcs = req.query.fmspc ? req.query.fmspc.split(',').map((f, i) => hexParam(f, `fmspc ${i + 1}`, 12)) : undefined;
    if (req.query.type === 'certs') return pck.refreshCertificates(fmspcs);
    const stored = (await ctx.store.listCollateral()).filter((r) => r.key.startsWith('tcb:')).map((r) => r.key.slice(4));
    return pck.refreshCollateral(fmspcs ? stored.filter((f) => fmspcs.includes(f.toUpperCase())) : stored);
  };
  app.get<{ Querystring: Record<string, string> }>(`${v4}/refresh`, { schema: { querystring: anyQuery } }, refresh);
  app.post<{ Querystring: Record<string, string> }>(`${v4}/refresh`, { schema: { querystring: anyQuery } }, refresh);
  app.put<{ Body: unknown }>(`${v4}/platformcollateral`, { preValidation: requireJson, bodyLimit: 64 * 1024 * 1024 }, async (req) => {
    ctx.admin.check(req);
    try {
      return await importCache(pck, ctx.store, parseCacheInput(JSON.stringify(req.body), 'platform collateral'), 'platform collateral');
    } catch (e) {
      if (e instanceof PccsFileError) throw invalid(e.message);
      throw e;
    }
  });
}
