import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { checkApiVersion } from '../api-version.js';
import { badRequest } from '../errors.js';
import { checkValidity, parseJws, signerJwk, thumbprint } from '../policy-jws.js';
import { certificateOf, managementToken } from './policies.js';
import { requireJson } from './content-type.js';

/** The ECDSA alg of a signer's curve; RSA signers are listed as RS256, as MAA lists them. */
const EC_ALG: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;
const tokenResponse = { 200: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } as const;

/**
 * Policy management certificates (docs/attestation.md §Policy management certificates). Add/remove bodies are a JSON string holding a JWS signed by an
 * already registered certificate; its payload names the certificate (`policyCertificate`, 2018: `maa-policyCertificate`).
 */
export function certificateRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: Record<string, string> }>('/certificates', { schema: { querystring: query, response: tokenResponse } }, async (req) => {
    checkApiVersion(req.query['api-version']);
    ctx.admin.check(req);
    const certs = await ctx.store.listPolicyCertificates();
    const keys = certs.map((c) => {
      const cert = new X509Certificate(c.certificatePem);
      return { ...signerJwk(cert), kid: c.thumbprint, alg: EC_ALG[cert.publicKey.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'RS256', use: 'sig' };
    });
    return managementToken(ctx, { 'x-ms-policy-certificates': { keys } });
  });

  for (const op of ['add', 'remove'] as const) {
    app.post<{ Querystring: Record<string, string>; Body: string }>(`/certificates::${op}`, {
      schema: { querystring: query, body: { type: 'string' }, response: tokenResponse },
      preValidation: requireJson,
    }, async (req) => {
      checkApiVersion(req.query['api-version']);
      const caller = ctx.admin.check(req);
      const what = `certificates:${op}`;
      const jws = await parseJws(req.body, `${what} request`, ctx.now());
      const signer = jws.signer;
      if (!signer) throw badRequest(`${what}: the request must be signed by a registered policy management certificate`, 'InvalidOperation');
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(Buffer.from(jws.payloadBytes).toString('utf8'));
      } catch {
        throw badRequest(`${what}: payload is not JSON`);
      }
      const jwk = (payload?.policyCertificate ?? payload?.['maa-policyCertificate']) as Record<string, unknown> | undefined;
      if (!jwk || typeof jwk !== 'object') throw badRequest(`${what}: payload has no policyCertificate`);
      const cert = certificateOf(jwk.x5c, `${what} policyCertificate`);
      const tp = thumbprint(cert);
      if (op === 'add') checkValidity(cert, ctx.now(), `${what} policyCertificate`);
      const result = await ctx.signedRequests.exclusive(async () => {
        const registered = await ctx.store.listPolicyCertificates();
        const signerTp = thumbprint(signer);
        if (!registered.some((c) => c.thumbprint.toUpperCase() === signerTp)) throw badRequest(`${what}: signer ${signerTp} is not a registered policy management certificate`, 'InvalidOperation');
        const present = registered.some((c) => c.thumbprint.toUpperCase() === tp);
        if (op === 'remove' && present && registered.length === 1) throw badRequest('certificates:remove: the final policy management certificate cannot be removed', 'InvalidOperation');
        await ctx.signedRequests.admit({ op: `certificates:${op}`, type: null, jws, caller, clientAddress: req.ip }, what);
        if (op === 'add' && !present) await ctx.store.addPolicyCertificate({ thumbprint: tp, certificatePem: cert.toString(), addedAt: ctx.now() });
        if (op === 'remove' && present) await ctx.store.removePolicyCertificate(tp);
        return op === 'add' ? 'IsPresent' : 'IsAbsent';
      });
      ctx.metrics.policyWrites.inc({ type: 'certificate', result: op });
      return managementToken(ctx, { 'x-ms-certificate-thumbprint': tp, 'x-ms-policycertificates-result': result });
    });
  }
}
