import type { FastifyInstance } from 'fastify';
import { KeyReleaseError } from './errors.js';
import { releaseAllowed, type ReleasePolicy } from './release-policy.js';
import { verifyServiceToken, type TokenKeys } from './verify-token.js';
import { enclaveKey, wrapForEnclave } from './wrap.js';

export interface ReleasableKey {
  name: string;
  secret: Uint8Array;
  policy: ReleasePolicy;
}

export interface KeyReleaseContext {
  baseUrl: string;
  now: () => number;
  jwks: () => TokenKeys;
  keys: Map<string, ReleasableKey>;
  /** Every decision is recorded before the answer (the attestation audit log). */
  audit: (r: { name: string; decision: 'permit' | 'deny' | 'error'; claims: Record<string, unknown> | null; reason: string | null; clientAddress: string }) => Promise<void>;
}

/**
 * `POST /keys/{name}/release` in Azure Key Vault's shape (docs/keyrelease.md §Release request): body `{"target":"<attestation token>",
 * "nonce"?, "enc"?}` → `{"value":"<JWE>"}`, the secret encrypted to the enclave key in the token's `x-ms-runtime.keys`.
 */
export function keyReleaseRoutes(app: FastifyInstance, ctx: KeyReleaseContext): void {
  app.post<{ Params: { name: string }; Body: { target: string; nonce?: string; enc?: string } }>('/keys/:name/release', {
    schema: {
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 127 } } },
      querystring: { type: 'object', properties: { 'api-version': { type: 'string' } } },
      body: { type: 'object', required: ['target'], properties: { target: { type: 'string', maxLength: 65536 }, nonce: { type: 'string', maxLength: 1024 }, enc: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] } },
    },
  }, async (req) => {
    const key = ctx.keys.get(req.params.name);
    if (!key) throw new KeyReleaseError(404, 'KeyNotFound', `no releasable key named ${JSON.stringify(req.params.name.slice(0, 60))}`);
    let claims: Record<string, unknown> | null = null;
    try {
      claims = await verifyServiceToken(req.body.target, ctx.jwks(), ctx.baseUrl, Math.floor(ctx.now() / 1000));
      if (!releaseAllowed(key.policy, claims)) throw new KeyReleaseError(403, 'ReleaseDenied', `the token does not satisfy the release policy of ${key.name}`);
      const value = await wrapForEnclave(key.secret, enclaveKey(claims), { 'x-confkube-key': key.name, ...(req.body.nonce ? { nonce: req.body.nonce } : {}) });
      await ctx.audit({ name: key.name, decision: 'permit', claims, reason: null, clientAddress: req.ip });
      return { value };
    } catch (e) {
      const reason = (e as Error).message;
      await ctx.audit({ name: key.name, decision: e instanceof KeyReleaseError && e.status === 403 ? 'deny' : 'error', claims, reason, clientAddress: req.ip });
      throw e;
    }
  });
}
