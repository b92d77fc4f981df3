import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { checkApiVersion } from '../api-version.js';
import { requireAdmin } from '../admin-auth.js';
import { badRequest } from '../errors.js';
import { parseJws, signerJwk, thumbprint } from '../policy-jws.js';
import { certificateOf, managementToken } from './policies.js';
import { requireJson } from './content-type.js';

const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;
const tokenResponse = { 200: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } as const;

/**
 * Policy management certificates (docs/attestation.md §Policy management certificates). Add/remove bodies are a JSON string holding a JWS signed by an
 * already registered certificate; its payload names the certificate (`policyCertificate`, 2018: `maa-policyCertificate`).
 */
export function certificateRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: Record<string, string> }>('/certificates', { schema: { querystring: query, response: tokenResponse } }, async (req) => {
    checkApiVersion(req.query['api-version']);
    requireAdmin(ctx, req);
    const certs = await ctx.store.listPolicyCertificates();
    const keys = certs.map((c) => {
      const jwk = signerJwk(new X509Certificate(c.certificatePem));
      return { ...jwk, kid: c.thumbprint, alg: jwk.kty === 'EC' ? 'ES256' : 'RS256', use: 'sig' };
    });
    return managementToken(ctx, { 'x-ms-policy-certificates': { keys } });
  });

  for (const op of ['add', 'remove'] as const) {
    app.post<{ Querystring: Record<string, string>; Body: string }>(`/certificates::${op}`, {
      schema: { querystring: query, body: { type: 'string' }, response: tokenResponse },
      preValidation: requireJson,
    }, async (req) => {
      checkApiVersion(req.query['api-version']);
      requireAdmin(ctx, req);
      const jws = parseJws(req.body, `certificates:${op} request`);
      if (!jws.signer) throw badRequest(`certificates:${op}: the request must be signed by a registered policy management certificate`, 'InvalidOperation');
      const registered = await ctx.store.listPolicyCertificates();
      const signerTp = thumbprint(jws.signer);
      if (!registered.some((c) => c.thumbprint.toUpperCase() === signerTp)) throw badRequest(`certificates:${op}: signer ${signerTp} is not a registered policy management certificate`, 'InvalidOperation');
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(Buffer.from(jws.payloadBytes).toString('utf8'));
      } catch {
        throw badRequest(`certificates:${op}: payload is not JSON`);
      }
      const jwk = (payload?.policyCertificate ?? payload?.['maa-policyCertificate']) as Record<string, unknown> | undefined;
      if (!jwk || typeof jwk !== 'object') throw badRequest(`certificates:${op}: payload has no policyCertificate`);
      const cert = certificateOf(jwk.x5c, `certificates:${op} policyCertificate`);
      const tp = thumbprint(cert);
      let result: 'IsPresent' | 'IsAbsent';
      if (op === 'add') {
        if (!registered.some((c) => c.thumbprint.toUpperCase() === tp)) await ctx.store.addPolicyCertificate({ thumbprint: tp, certificatePem: cert.toString(), addedAt: ctx.now() });
        result = 'IsPresent';
      } else {
        const present = registered.some((c) => c.thumbprint.toUpperCase() === tp);
        if (present && registered.length === 1) throw badRequest('certificates:remove: the final policy management certificate cannot be removed', 'InvalidOperation');
        if (present) await ctx.store.removePolicyCertificate(tp);
        result = 'IsAbsent';
      }
      ctx.metrics.policyWrites.inc({ type: 'certificate', result: op });
      return managementToken(ctx, { 'x-ms-certificate-thumbprint': tp, 'x-ms-policycertificates-result': result });
    });
  }
}
