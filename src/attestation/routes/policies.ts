import { X509Certificate } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../context.js';
import { checkApiVersion } from '../api-version.js';
import { requireAdmin } from '../admin-auth.js';
import { AttestationError, badRequest } from '../errors.js';
import { ATTESTATION_TYPES, type AttestationType } from '../policies.js';
import { parseJws, policyHash, policyTextFromJws, policyTokenHash, signerJwk, thumbprint, type ParsedJws } from '../policy-jws.js';
import { MANAGEMENT_TOKEN_LIFETIME_S, signToken, timeClaims } from '../token.js';
import { requireText } from './content-type.js';

function policyType(t: string): AttestationType {
  if (!(ATTESTATION_TYPES as readonly string[]).includes(t)) throw new AttestationError(400, 'InvalidAttestationType', `attestation type ${JSON.stringify(t.slice(0, 40))} has no policy here (SgxEnclave, OpenEnclave)`);
  return t as AttestationType;
}

/** Isolated mode: the JWS must be signed by a registered policy-management certificate (docs/attestation.md §Admin authentication). */
export async function checkSigner(ctx: ServiceContext, jws: ParsedJws, what: string): Promise<void> {
  if (!ctx.isolated) return;
  if (!jws.signer) throw badRequest(`${what}: Unsigned JWS specified but the service is configured with policy signing certificates`, 'InvalidOperation');
  const tp = thumbprint(jws.signer);
  const registered = await ctx.store.listPolicyCertificates();
  if (!registered.some((c) => c.thumbprint.toUpperCase() === tp)) throw badRequest(`${what}: signer ${tp} is not a registered policy management certificate`, 'InvalidOperation');
}

export async function managementToken(ctx: ServiceContext, body: Record<string, unknown>): Promise<{ token: string }> {
  const key = ctx.keyring.active();
  if (!key) throw new AttestationError(503, 'ServiceUnavailable', 'no active signing key');
  return { token: await signToken(key, ctx.baseUrl, { ...body, ...timeClaims(ctx.now(), MANAGEMENT_TOKEN_LIFETIME_S), iss: ctx.baseUrl }) };
}

function bodyText(req: FastifyRequest): string {
  const b = req.body;
  if (typeof b === 'string') return b;
  throw badRequest('body: expected the compact JWS as text');
}

const tokenResponse = { 200: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } } as const;
const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;

/** `GET/PUT /policies/{type}`, `POST /policies/{type}:reset` (docs/attestation.md §Policy management). */
export function policyRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Params: { type: string }; Querystring: Record<string, string> }>('/policies/:type', {
    schema: { params: { type: 'object', properties: { type: { type: 'string' } } }, querystring: query, response: tokenResponse },
  }, async (req) => {
    checkApiVersion(req.query['api-version']);
    requireAdmin(ctx, req);
    const p = ctx.policies.get(policyType(req.params.type));
    return managementToken(ctx, { 'x-ms-policy': p.jws });
  });

  app.put<{ Params: { type: string }; Querystring: Record<string, string> }>('/policies/:type', {
    schema: { params: { type: 'object', properties: { type: { type: 'string' } } }, querystring: query, body: { type: 'string' }, response: tokenResponse },
    preValidation: requireText,
  }, async (req) => {
    checkApiVersion(req.query['api-version']);
    const type = policyType(req.params.type);
    const who = requireAdmin(ctx, req);
    const jws = parseJws(bodyText(req), 'policy');
    await checkSigner(ctx, jws, 'policy');
    const text = policyTextFromJws(jws, 'policy');
    try {
      ctx.engine.compile(text);
    } catch (e) {
      ctx.metrics.policyWrites.inc({ type, result: 'invalid' });
      throw badRequest(`policy: ${(e as Error).message}`, 'InvalidPolicy');
    }
    await ctx.store.setPolicy({ attestationType: type, text, jws: jws.raw, hash: policyHash(text), setAt: ctx.now(), setBy: jws.signer ? `cert:${thumbprint(jws.signer)}` : who });
    await ctx.policies.refresh(true);
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
    const who = requireAdmin(ctx, req);
    const raw = bodyText(req);
    const jws = parseJws(raw, 'reset request');
    if (jws.payloadBytes.length !== 0) throw badRequest('reset request: the JWS payload must be empty', 'InvalidPolicy');
    await checkSigner(ctx, jws, 'reset request');
    await ctx.store.resetPolicy(type, jws.signer ? `cert:${thumbprint(jws.signer)}` : who);
    await ctx.policies.refresh(true);
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
