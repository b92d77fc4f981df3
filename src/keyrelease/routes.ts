import type { FastifyInstance } from 'fastify';
import { KeyReleaseError } from './errors.js';
import { releaseAllowed, type ReleasePolicy } from './release-policy.js';
import { verifyServiceToken, type TokenKeys } from './verify-token.js';
import { checkRequirements, DEFAULT_REQUIREMENTS } from './requirements.js';
import { NonceBook } from './nonces.js';
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
  /** Challenges for keys whose policy requires a nonce; default: a table in this process. */
  nonces?: NonceBook;
  /** Every decision is recorded before the answer (the attestation audit log). */
  audit: (r: { name: string; decision: 'permit' | 'deny' | 'error'; claims: Record<string, unknown> | null; reason: string | null; clientAddress: string }) => Promise<void>;
}

/**
 * `POST /keys/{name}/release` in Azure Key Vault's shape (docs/keyrelease.md §Release request): body `{"target":"<attestation token>",
 * "nonce"?, "enc"?}` → `{"value":"<JWE>"}`, the secret encrypted to the enclave key in the token's `x-ms-runtime.keys`.
 */
export function keyReleaseRoutes(app: FastifyInstance, ctx: KeyReleaseContext): void {
  const nonces = ctx.nonces ?? new NonceBook(ctx.now);
  const keyNamed = (name: string): ReleasableKey => {
    const key = ctx.keys.get(name);
    if (!key) throw new KeyReleaseError(404, 'KeyNotFound', `no releasable key named ${JSON.stringify(name.slice(0, 60))}`);
    return key;
  };

  // confkube's challenge (not in Azure Key Vault): a fresh nonce the enclave binds in its runtime data.
  app.post<{ Params: { name: string } }>('/keys/:name/nonce', {
    schema: {
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 127 } } },
      querystring: { type: 'object', properties: { 'api-version': { type: 'string' } } },
      response: { 200: { type: 'object', properties: { nonce: { type: 'string' }, expiresOn: { type: 'string' } }, required: ['nonce', 'expiresOn'] } },
    },
  }, async (req) => {
    const key = keyNamed(req.params.name);
    const { nonce, expiresAt } = nonces.issue(key.name);
    return { nonce, expiresOn: new Date(expiresAt).toISOString() };
  });

  app.post<{ Params: { name: string }; Body: { target: string; nonce?: string; enc?: string } }>('/keys/:name/release', {
    schema: {
      params: { type: 'object', properties: { name: { type: 'string', maxLength: 127 } } },
      querystring: { type: 'object', properties: { 'api-version': { type: 'string' } } },
      body: { type: 'object', required: ['target'], properties: { target: { type: 'string', maxLength: 65536 }, nonce: { type: 'string', maxLength: 1024 }, enc: { type: 'string' } } },
      response: { 200: { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] } },
    },
  }, async (req) => {
    const key = keyNamed(req.params.name);
    let claims: Record<string, unknown> | null = null;
    try {
      const nowS = Math.floor(ctx.now() / 1000);
      claims = await verifyServiceToken(req.body.target, ctx.jwks(), ctx.baseUrl, nowS);
      const requirements = key.policy.confkube ?? DEFAULT_REQUIREMENTS;
      checkRequirements(requirements, claims, nowS, key.name);
      if (requirements.nonce === 'required') {
        const bound = (claims['x-ms-runtime'] as { nonce?: unknown } | undefined)?.nonce;
        if (typeof bound !== 'string') throw new KeyReleaseError(403, 'ReleaseDenied', `${key.name}: requires a nonce from POST /keys/${key.name}/nonce in the enclave's runtime data (x-ms-runtime.nonce)`);
        if (!nonces.consume(key.name, bound)) throw new KeyReleaseError(403, 'ReleaseDenied', `${key.name}: the runtime data nonce is unknown, expired, already used or issued for another key`);
      }
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
