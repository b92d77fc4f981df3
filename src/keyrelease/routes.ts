import type { FastifyInstance } from 'fastify';
import { decodeBase64Lenient } from '../attestation/base64.js';
import { jsonDeeperThan, MAX_DATA_CHARS, MAX_EVIDENCE_CHARS, MAX_JSON_DEPTH } from '../attestation/request-limits.js';
import { KeyReleaseError } from './errors.js';
import { KeyProtectionError } from '../store/sealed-key.js';
import { releaseAllowed } from './release-policy.js';
import { sameIssuer, verifyToken, type TokenKeys, type TrustedIssuer } from './verify-token.js';
import { checkRequirements, DEFAULT_REQUIREMENTS } from './requirements.js';
import { NonceBook } from './nonces.js';
import { enclaveKey, wrapForEnclave } from './wrap.js';
import type { KeySource, ResolvedKey } from './key-source.js';

/** A key given at start (`confkube serve --release-key`); imported into the key store (key-source.ts importKey). */
export interface ReleasableKey {
  name: string;
  secret: Uint8Array;
  policy: unknown;
}

/** What the quote's verification told about the enclave, for the audit log, whether or not it passed. */
export interface EvidenceSummary { mrEnclave: string | null; mrSigner: string | null; tcbStatus: string | null; simulated: boolean; policyHash: string | null }

/**
 * A quote with its runtime data verified exactly as `POST /attest/SgxEnclave` verifies it (same verifier,
 * collateral, trust and attestation policy), answering the claims a token would carry, unsigned. `denied`:
 * the evidence was read and refused (verification, binding, attestation policy); otherwise it was unreadable.
 */
export type VerifyEvidence = (quote: Uint8Array, runtime: { data: Uint8Array; dataType: 'JSON'; json: unknown }) => Promise<
  | { ok: true; claims: Record<string, unknown>; evidence: EvidenceSummary }
  | { ok: false; denied: boolean; message: string; evidence: EvidenceSummary }>;

export interface ReleaseAuditEntry {
  name: string;
  version: string | null;
  decision: 'permit' | 'deny' | 'error';
  /** Token claims, or the claims the quote gave (challenge–response). */
  claims: Record<string, unknown> | null;
  evidence: EvidenceSummary | null;
  /** Only when a token was presented. */
  tokenId: string | null;
  reason: string | null;
  clientAddress: string;
}

export interface KeyReleaseContext {
  baseUrl: string;
  now: () => number;
  jwks: () => TokenKeys;
  /** Other attestation services whose tokens the token form accepts (docs/keyrelease.md §Trusted issuers). */
  trustedIssuers?: readonly TrustedIssuer[];
  /** The key store; null: this service has none (every key is unknown). */
  keys: KeySource | null;
  /** Challenges: default a table in this process. */
  nonces?: NonceBook;
  verifyEvidence: VerifyEvidence;
  /** Every decision is recorded before the answer (the attestation audit log). */
  audit: (r: ReleaseAuditEntry) => Promise<void>;
}

interface ReleaseBody {
  target?: string; nonce?: string; enc?: string;
  quote?: string; runtimeData?: { data?: string; dataType?: string };
}

const denied = (msg: string): KeyReleaseError => new KeyReleaseError(403, 'ReleaseDenied', msg);
const badBody = (msg: string): KeyReleaseError => new KeyReleaseError(400, 'BadParameter', msg);
const params = { type: 'object', properties: { name: { type: 'string', maxLength: 127 }, version: { type: 'string', maxLength: 64 } } } as const;
const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;
const bodySchema = {
  type: 'object',
  properties: {
    target: { type: 'string', maxLength: 65536 }, nonce: { type: 'string', maxLength: 1024 }, enc: { type: 'string', maxLength: 64 },
    quote: { type: 'string', maxLength: MAX_EVIDENCE_CHARS },
    runtimeData: { type: 'object', properties: { data: { type: 'string', maxLength: MAX_DATA_CHARS }, dataType: { type: 'string', maxLength: 16 } } },
  },
} as const;

/** The runtime data R of the challenge–response form: `{"nonce": "...", "keys": [RSA JWK, …]}` as JSON (docs/keyrelease.md §Challenge–response). */
function runtimeOf(b: ReleaseBody): { data: Uint8Array; dataType: 'JSON'; json: Record<string, unknown>; nonce: string } {
  const rd = b.runtimeData;
  if (!rd || typeof rd.data !== 'string' || rd.data === '') throw badBody('runtimeData.data: missing (the challenge–response form sends the quote with its runtime data)');
  if (rd.dataType !== 'JSON') throw badBody(`runtimeData.dataType: ${JSON.stringify(rd.dataType ?? null)}, expected "JSON"`);
  const data = decodeBase64Lenient(rd.data, 'runtimeData.data');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (e) {
    throw badBody(`runtimeData.data: not JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw badBody('runtimeData.data: not a JSON object');
  if (jsonDeeperThan(json, MAX_JSON_DEPTH)) throw badBody(`runtimeData.data: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  const nonce = (json as { nonce?: unknown }).nonce;
  if (typeof nonce !== 'string' || nonce === '') throw badBody('runtimeData.data: "nonce" must be the string from POST /keys/{name}/nonce');
  return { data, dataType: 'JSON', json: json as Record<string, unknown>, nonce };
}

/**
 * Secure key release (docs/keyrelease.md §Release request): `POST /keys/{name}[/{version}]/release` in Azure Key
 * Vault's token form `{"target": "<token>"}` or confkube's challenge–response form `{"quote", "runtimeData"}`,
 * answering `{"value": "<JWE>"}` to the enclave key; `POST /keys/{name}/nonce` issues challenges.
 */
export function keyReleaseRoutes(app: FastifyInstance, ctx: KeyReleaseContext): void {
  const nonces = ctx.nonces ?? new NonceBook(ctx.now);
  const unknownKey = (name: string, version: string | null): KeyReleaseError =>
    new KeyReleaseError(404, 'KeyNotFound', version === null ? `no releasable key named ${JSON.stringify(name.slice(0, 60))}` : `key ${JSON.stringify(name.slice(0, 60))} has no version ${JSON.stringify(version.slice(0, 40))}`);

  // confkube's challenge (not in Azure Key Vault): a fresh nonce the enclave binds in its runtime data.
  app.post<{ Params: { name: string } }>('/keys/:name/nonce', {
    schema: {
      params, querystring: query,
      response: { 200: { type: 'object', properties: { nonce: { type: 'string' }, expiresOn: { type: 'string' } }, required: ['nonce', 'expiresOn'] } },
    },
  }, async (req) => {
    if (!ctx.keys || !(await ctx.keys.exists(req.params.name))) throw unknownKey(req.params.name, null);
    const { nonce, expiresAt } = nonces.issue(req.params.name);
    return { nonce, expiresOn: new Date(expiresAt).toISOString() };
  });

  const release = async (name: string, version: string | null, b: ReleaseBody, clientAddress: string): Promise<{ value: string }> => {
    if ((b.target === undefined) === (b.quote === undefined)) throw badBody('give either "target" (an attestation token) or "quote" with "runtimeData" (challenge–response), not both or neither');
    const runtime = b.quote !== undefined ? runtimeOf(b) : null;
    const quote = b.quote !== undefined ? decodeBase64Lenient(b.quote, 'quote') : null;
    let key: ResolvedKey | null;
    try {
      key = ctx.keys ? await ctx.keys.resolve(name, version) : null;
    } catch (e) {
      // A stored secret that does not open under the service's KEK (another KEK, or a row altered in the
      // database): the service's fault, not the caller's; recorded like every other decision.
      if (!(e instanceof KeyProtectionError)) throw e;
      const reason = `${name}: the stored secret${version ? ` of version ${version}` : ''} cannot be opened: ${e.message}`;
      await ctx.audit({ name, version, decision: 'error', claims: null, evidence: null, tokenId: null, reason, clientAddress });
      throw new KeyReleaseError(500, 'KeyUnavailable', reason);
    }
    if (!key) throw unknownKey(name, version);
    const entry: ReleaseAuditEntry = { name, version: key.version, decision: 'error', claims: null, evidence: null, tokenId: null, reason: null, clientAddress };
    try {
      let claims: Record<string, unknown>;
      let headerNonce: string | undefined = b.nonce;
      const nowS = Math.floor(ctx.now() / 1000);
      if (runtime && quote) {
        const r = await ctx.verifyEvidence(quote, runtime);
        entry.evidence = r.evidence;
        if (!r.ok) throw r.denied ? denied(`${name}: attestation: ${r.message}`) : new KeyReleaseError(400, 'InvalidQuote', r.message);
        claims = r.claims;
        entry.claims = claims;
        // SgxEnclave's runtime-data binding is SHA-256(R) ‖ 32 zero bytes; attestation checked the first half.
        if (!/^0{64}$/.test(String(claims['x-ms-sgx-report-data'] ?? '').slice(64))) throw denied(`${name}: binding: report data bytes 32..63 must be zero (SHA-256(runtime data) ‖ 0³²)`);
        if (!nonces.consume(name, runtime.nonce)) throw denied(`${name}: nonce: unknown, expired, already used or issued for another key`);
        headerNonce = runtime.nonce;
      } else {
        claims = await verifyToken(b.target!, [{ issuer: ctx.baseUrl, jwks: ctx.jwks() }, ...(ctx.trustedIssuers ?? [])], nowS);
        entry.claims = claims;
        entry.tokenId = typeof claims.jti === 'string' ? claims.jti : null;
      }
      check(key, claims, nowS, runtime === null);
      const value = await wrapForEnclave(key.secret, enclaveKey(claims), {
        'x-confkube-key': key.name, 'x-confkube-key-version': key.version, ...(headerNonce ? { nonce: headerNonce } : {}),
      });
      entry.decision = 'permit';
      await ctx.audit(entry);
      return { value };
    } catch (e) {
      entry.reason = (e as Error).message;
      if (entry.decision !== 'permit') {
        entry.decision = e instanceof KeyReleaseError && e.status === 403 ? 'deny' : 'error';
        await ctx.audit(entry);
      }
      throw e;
    }
  };

  /** The version's state, the key's requirements (with its token-form nonce) and release policy, on verified claims. */
  const check = (key: ResolvedKey, claims: Record<string, unknown>, nowS: number, tokenForm: boolean): void => {
    if (!key.enabled) throw denied(`${key.name}: version ${key.version} is disabled`);
    const requirements = key.policy.confkube ?? DEFAULT_REQUIREMENTS;
    checkRequirements(requirements, claims, nowS, key.name, !sameIssuer(String(claims.iss), ctx.baseUrl));
    if (tokenForm && requirements.nonce === 'required') {
      const bound = (claims['x-ms-runtime'] as { nonce?: unknown } | undefined)?.nonce;
      if (typeof bound !== 'string') throw denied(`${key.name}: nonce: requires a nonce from POST /keys/${key.name}/nonce in the enclave's runtime data (x-ms-runtime.nonce)`);
      if (!nonces.consume(key.name, bound)) throw denied(`${key.name}: nonce: the runtime data nonce is unknown, expired, already used or issued for another key`);
    }
    if (!releaseAllowed(key.policy, claims)) throw denied(`${key.name}: policy: the claims do not satisfy the release policy`);
  };

  const route = { schema: { params, querystring: query, body: bodySchema, response: { 200: { type: 'object', properties: { value: { type: 'string' } }, required: ['value'] } } } };
  app.post<{ Params: { name: string }; Body: ReleaseBody }>('/keys/:name/release', route, async (req) => release(req.params.name, null, req.body ?? {}, req.ip));
  app.post<{ Params: { name: string; version: string }; Body: ReleaseBody }>('/keys/:name/:version/release', route, async (req) => release(req.params.name, req.params.version, req.body ?? {}, req.ip));
}
