import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';

const jwksSchema = {
  200: {
    type: 'object',
    properties: { keys: { type: 'array', items: { type: 'object', properties: { x5c: { type: 'array', items: { type: 'string' } }, kid: { type: 'string' }, kty: { type: 'string' }, n: { type: 'string' }, e: { type: 'string' } }, required: ['x5c', 'kid', 'kty'] } } },
  },
} as const;

/** `GET /certs` (and `/certs/`, which Gramine fetches) and the OpenID metadata, without api-version (docs/attestation.md §Endpoints; docs/attestation.md §Signing keys). */
export function discoveryRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  for (const url of ['/certs', '/certs/']) {
    app.get(url, { schema: { response: jwksSchema } }, async () => {
      await ctx.keyring.reloadShared();
      return ctx.keyring.jwks();
    });
  }
  app.get('/.well-known/openid-configuration', { schema: { response: { 200: { type: 'object', additionalProperties: true } } } }, async () => ({
    response_types_supported: ['token', 'none'],
    id_token_signing_alg_values_supported: ['RS256'],
    issuer: ctx.baseUrl,
    jwks_uri: `${ctx.baseUrl}/certs`,
    claims_supported: ['cnf', 'nonce', 'x-ms-ver', 'x-ms-attestation-type', 'x-ms-policy-hash', 'x-ms-policy-signer', 'x-ms-sgx-is-debuggable',
      'x-ms-sgx-mrenclave', 'x-ms-sgx-mrsigner', 'x-ms-sgx-svn', 'x-ms-sgx-ehd', 'x-ms-sgx-collateral', 'x-ms-sgx-report-data',
      'x-ms-sgx-tcb-status', 'x-ms-sgx-advisory-ids', 'x-ms-sgx-is-simulated',
      'is-debuggable', 'sgx-mrsigner', 'sgx-mrenclave', 'product-id', 'svn', 'tee'],
  }));
}
