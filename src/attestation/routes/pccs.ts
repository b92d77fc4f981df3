import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServiceContext } from '../context.js';
import { AttestationError, badRequest } from '../errors.js';
import type { CollateralRecord } from '../deps.js';
import { toPem } from '../../lib/pem.js';

/**
 * The Intel PCS/PCCS v4 collateral API served from the service's cache (docs/attestation.md §PCCS routes), so Intel's tooling or
 * another confkube can use this service as its PCCS. Bodies are the exact bytes fetched or imported.
 */
export function pccsRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const find = async (key: string): Promise<CollateralRecord> => {
    const r = (await ctx.store.getCollateral(key)) ?? (await ctx.store.getCollateral(`sim/${key}`));
    if (!r) throw new AttestationError(404, 'NotFound', `no cached collateral ${key}`);
    return r;
  };
  const send = (reply: FastifyReply, r: CollateralRecord, type: string, chainHeader: string | null): Buffer => {
    reply.header('content-type', type);
    if (chainHeader && r.issuerChain) reply.header(chainHeader, encodeURIComponent(r.issuerChain));
    return Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
  };
  const v4 = '/sgx/certification/v4';

  app.get<{ Querystring: { fmspc?: string } }>(`${v4}/tcb`, {
    schema: { querystring: { type: 'object', properties: { fmspc: { type: 'string' }, update: { type: 'string' }, tcbEvaluationDataNumber: { type: 'string' } } } },
  }, async (req, reply) => {
    const fmspc = req.query.fmspc ?? '';
    if (!/^[0-9a-fA-F]{12}$/.test(fmspc)) throw badRequest('fmspc: expected 12 hex digits');
    // An FMSPC the service holds may be refreshed from upstream first; an unknown one is never fetched for an
    // anonymous caller (only a quote whose PCK chain leads to a trust anchor brings a new FMSPC in).
    const key = `tcb:${fmspc.toLowerCase()}`;
    if (await ctx.store.getCollateral(key)) await ctx.collateral.get(fmspc.toLowerCase(), false).catch(() => undefined);
    const r = await find(key);
    return send(reply, r, 'application/json', 'TCB-Info-Issuer-Chain');
  });
  app.get(`${v4}/qe/identity`, async (_req, reply) => send(reply, await find('qe'), 'application/json', 'SGX-Enclave-Identity-Issuer-Chain'));
  app.get<{ Querystring: { ca?: string; encoding?: string } }>(`${v4}/pckcrl`, {
    schema: { querystring: { type: 'object', properties: { ca: { type: 'string' }, encoding: { type: 'string' } } } },
  }, async (req, reply) => {
    const ca = (req.query.ca ?? '').toLowerCase();
    if (ca !== 'processor' && ca !== 'platform') throw badRequest('ca: expected processor or platform');
    const r = await find(`pckcrl:${ca}`);
    if (req.query.encoding === 'der') return send(reply, r, 'application/pkix-crl', 'SGX-PCK-CRL-Issuer-Chain');
    // PCS v4 without encoding=der answers PEM.
    reply.header('content-type', 'application/x-pem-file');
    if (r.issuerChain) reply.header('SGX-PCK-CRL-Issuer-Chain', encodeURIComponent(r.issuerChain));
    return toPem(r.body, 'X509 CRL');
  });
  app.get(`${v4}/rootcacrl`, async (_req, reply) => send(reply, await find('rootcacrl'), 'application/pkix-crl', null));
}
