import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ServiceContext } from './context.js';
import { unauthorized } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * AAD-like mode: policy writes carry `Authorization: Bearer <admin token>` (the JS admin client always sends one,
 * docs/attestation.md §Admin authentication). Compared by digest in constant time. In isolated mode with no admin token configured the JWS
 * signature alone is the authority (checked by the route).
 */
export function requireAdmin(ctx: ServiceContext, req: FastifyRequest): string {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (ctx.adminTokens.length === 0) {
    if (ctx.isolated) return 'isolated';
    throw unauthorized('policy management is disabled: the service has no admin token configured');
  }
  if (!m) throw unauthorized('policy management needs Authorization: Bearer <admin token>');
  const got = digest(m[1]);
  for (const t of ctx.adminTokens) if (timingSafeEqual(got, digest(t))) return `admin:${digest(t).toString('hex').slice(0, 8)}`;
  throw unauthorized('admin bearer token not recognised');
}
