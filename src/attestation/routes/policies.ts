import { X509Certificate } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { checkApiVersion } from '../api-version.js';
import { AttestationError, badRequest } from '../errors.js';
import { ATTESTATION_TYPES, type AttestationType } from '../policies.js';
import { parseJws, policyHash, policyTextFromJws, policyTokenHash, signerJwk, thumbprint } from '../policy-jws.js';
import { requireText } from './content-type.js';

function policyType(t: string): AttestationType {
  if (!(ATTESTATION_TYPES as readonly string[]).includes(t)) throw new AttestationError(400, 'InvalidAttestationType', `attestation type ${JSON.stringify(t.slice(0, 40))} has no policy here (SgxEnclave, OpenEnclave)`);
  return t as AttestationType;
}

/** A management answer: MAA's claims, signed by the management key (not a token signing key, see management-token.ts). */
export async function managementToken(ctx: ServiceContext, body: Record<string, unknown>): Promise<{ token: string }> {
  return { token: await ctx.managementSigner.sign(body) };
}

function bodyText(req: FastifyRequest): string {
  const b = req.body;
  if (typeof b === 'string') return b;
  throw badRequest('body: expected the compact JWS as text');
}

const tokenResponse = { 200: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } as const;
const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;

/** `GET/PUT /policies/{type}`, `POST /policies/{type}:reset` (docs/attestation.md §Policy management). Every call needs the admin bearer token. */
export function policyRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Params: { type: string }; Querystring: Record<string, string> }>('/policies/:type', {
    schema: { params: { type: 'object', properties: { type: { type: 'string' } } }, querystring: query, response: tokenResponse },
  }, async (req) => {
    checkApiVersion(req.query['api-version']);
    ctx.admin.check(req);
    const p = ctx.policies.get(policyType(req.params.type));
    return managementToken(ctx, { 'x-ms-policy': p.jws });
  });

  app.put<{ Params: { type: string }; Querystring: Record<string, string> }>('/policies/:type', {
    schema: { params: { type: 'object', properties: { type: { type: 'string' } } }, querystring: query, body: { type: 'string' }, response: tokenResponse },
    preValidation: requireText,
  }, async (req) => {
    checkApiVersion(req.query['api-version']);
    const type = policyType(req.params.type);
    const caller = ctx.admin.check(req);
    const jws = await parseJws(bodyText(req), 'policy', ctx.now());
    const text = policyTextFromJws(jws, 'policy');
    try {
      ctx.engine.compile(text);
    } catch (e) {
      ctx.metrics.policyWrites.inc({ type, result: 'invalid' });
      throw badRequest(`policy: ${(e as Error).message}`, 'InvalidPolicy');
    }
    await ctx.signedRequests.exclusive(async () => {
      await ctx.signedRequests.admit({ op: 'policies:set', type, jws, caller, clientAddress: req.ip }, 'policy');
      await ctx.store.setPolicy({ attestationType: type, text, jws: jws.raw, hash: policyHash(text), setAt: ctx.now(), setBy: jws.signer ? `cert:${thumbprint(jws.signer)}` : caller });
      await ctx.policies.refresh(true);
    });
    ctx.metrics.policyWrites.inc({ type, result: 'updated' });
    return managementToken(ctx, {
      'x-ms-policy-result': 'Updated',
      'x-ms-policy-token-hash': policyTokenHash(jws.raw),
      ...(jws.signer ? { 'x-ms-policy-signer': signerJwk(jws.signer) } : {}),
    });
  });

  app.post<{ Params: { typeAction: string }; Querystring: Record<string, string> }>('/policies/:typeAction', {
    schema: { params: { type: 'object', properties: { typeAction: { type: 'string' } } }, querystring: query, response: tokenResponse },
    preValidation: requireText,
  }, async (req) => {
    const m = /^([^:]+):reset$/.exec(req.params.typeAction);
    if (!m) throw new AttestationError(404, 'NotFound', `POST /policies/${req.params.typeAction.slice(0, 60)}: unknown operation (expected {type}:reset)`);
    checkApiVersion(req.query['api-version']);
    const type = policyType(m[1]);
    const caller = ctx.admin.check(req);
    const jws = await parseJws(bodyText(req), 'reset request', ctx.now());
    if (jws.payloadBytes.length !== 0) throw badRequest('reset request: the JWS payload must be empty', 'InvalidPolicy');
    await ctx.signedRequests.exclusive(async () => {
      await ctx.signedRequests.admit({ op: 'policies:reset', type, jws, caller, clientAddress: req.ip }, 'reset request');
      await ctx.store.resetPolicy(type, jws.signer ? `cert:${thumbprint(jws.signer)}` : caller);
      await ctx.policies.refresh(true);
    });
    ctx.metrics.policyWrites.inc({ type, result: 'removed' });
    return managementToken(ctx, {
      'x-ms-policy-result': 'Removed',
      'x-ms-policy-token-hash': policyTokenHash(jws.raw),
      ...(jws.signer ? { 'x-ms-policy-signer': signerJwk(jws.signer) } : {}),
    });
  });
}

export function certificateOf(x5c: unknown, what: string): X509Certificate {
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') throw badRequest(`${what}: x5c missing`);
  try {
    return new X509Certificate(Buffer.from(x5c[0], 'base64'));
  } catch {
    throw badRequest(`${what}: x5c[0] is not an X.509 certificate`);
  }
}
