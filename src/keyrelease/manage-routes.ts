import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeBase64Lenient } from '../attestation/base64.js';
import { MAX_POLICY_CHARS } from '../attestation/request-limits.js';
import type { ReleaseKeyRecord, ReleaseKeyVersionRecord } from '../store/types.js';
import { KeyReleaseError } from './errors.js';
import { MAX_SECRET_BYTES, type NewSecret, type StoreKeySource } from './key-source.js';

export interface KeyManagementAuditEntry {
  name: string;
  version: string | null;
  actor: string | null;
  decision: 'permit' | 'deny' | 'error';
  /** The operation (`create`, `rotate`, `enable`, `disable`, `delete`, `recover`), and why it failed if it did. */
  reason: string;
  clientAddress: string;
}

export interface KeyManagementContext {
  baseUrl: string;
  /** Null: the service has no key store; every management call is a 501. */
  keys: StoreKeySource | null;
  /** The admin bearer token check of policy management (attestation/admin-auth.ts): the actor, or a 401/429. */
  authenticate: (req: FastifyRequest) => string;
  audit: (r: KeyManagementAuditEntry) => Promise<void>;
}

interface SecretBody { secret?: string; generateBytes?: number; releasePolicy?: unknown; enabled?: boolean; retentionDays?: number }

const secretSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: { type: 'string', maxLength: Math.ceil((MAX_SECRET_BYTES * 4) / 3) + 4 },
    generateBytes: { type: 'integer' },
    releasePolicy: { type: 'object' },
    enabled: { type: 'boolean' },
    retentionDays: { type: 'integer' },
  },
} as const;
const nameParams = { type: 'object', properties: { name: { type: 'string', maxLength: 127 }, version: { type: 'string', maxLength: 64 } } } as const;
const query = { type: 'object', properties: { 'api-version': { type: 'string' } } } as const;

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/**
 * Key management in Azure Key Vault's shape where it fits (docs/keyrelease.md §Management API), behind the admin
 * bearer token of policy management. No answer ever carries a secret. Every change is in the audit log
 * (`attestationType` = `keymgmt/<name>`, the actor and the version) before the answer; refused attempts too.
 */
export function keyManagementRoutes(app: FastifyInstance, ctx: KeyManagementContext): void {
  const kid = (name: string, version: string): string => `${ctx.baseUrl}/keys/${name}/${version}`;
  const versionBundle = (v: ReleaseKeyVersionRecord, currentSeq: number | null): Record<string, unknown> => ({
    kid: kid(v.name, v.version), name: v.name, version: v.version, current: v.seq === currentSeq,
    attributes: { enabled: v.enabled, created: seconds(v.createdAt), updated: seconds(v.updatedAt) },
    release_policy: JSON.parse(v.policy) as unknown,
  });
  const keyBundle = (k: ReleaseKeyRecord, versions: ReleaseKeyVersionRecord[]): Record<string, unknown> => ({
    name: k.name, createdBy: k.createdBy,
    ...(versions[0] ? { kid: kid(k.name, versions[0].version), currentVersion: versions[0].version } : {}),
    versions: versions.length,
    attributes: { created: seconds(k.createdAt), recoverableDays: k.retentionDays, recoveryLevel: 'Recoverable' },
    ...(k.deletedAt !== null ? { deletedDate: seconds(k.deletedAt), scheduledPurgeDate: seconds(k.purgeAt) } : {}),
  });
  const source = (): StoreKeySource => {
    if (!ctx.keys) throw new KeyReleaseError(501, 'NotImplemented', 'this service has no key store');
    return ctx.keys;
  };
  const newSecret = (b: SecretBody, policyRequired: boolean): Omit<NewSecret, 'policy'> & { policy?: unknown } => {
    if ((b.secret === undefined) === (b.generateBytes === undefined)) throw new KeyReleaseError(400, 'BadParameter', 'give either "secret" (base64url) or "generateBytes" (how many random bytes), not both or neither');
    if (policyRequired && b.releasePolicy === undefined) throw new KeyReleaseError(400, 'BadParameter', '"releasePolicy": a new key needs its release policy');
    if (b.releasePolicy !== undefined && JSON.stringify(b.releasePolicy).length > MAX_POLICY_CHARS) throw new KeyReleaseError(400, 'BadParameter', `"releasePolicy": longer than ${MAX_POLICY_CHARS} characters`);
    return {
      secret: b.secret !== undefined ? decodeBase64Lenient(b.secret, 'secret') : { generateBytes: b.generateBytes! },
      ...(b.releasePolicy !== undefined ? { policy: b.releasePolicy } : {}),
      ...(b.enabled !== undefined ? { enabled: b.enabled } : {}),
    };
  };

  /** Authenticate, act, audit, answer: a refused or failed attempt is audited too. */
  const audited = async <T>(req: FastifyRequest, name: string, op: string, act: (actor: string) => Promise<{ version: string | null; body: T }>): Promise<T> => {
    let actor: string | null = null;
    try {
      actor = ctx.authenticate(req);
      const { version, body } = await act(actor);
      await ctx.audit({ name, version, actor, decision: 'permit', reason: op, clientAddress: req.ip });
      return body;
    } catch (e) {
      const status = e instanceof KeyReleaseError || (e as { status?: unknown }).status !== undefined ? (e as { status: number }).status : 0;
      if (status !== 0 || (e as { code?: unknown }).code === 'ERR_KEY_PROTECTION') {
        await ctx.audit({ name, version: null, actor, decision: status === 401 || status === 403 || status === 429 ? 'deny' : 'error', reason: `${op}: ${(e as Error).message}`, clientAddress: req.ip });
      }
      throw e;
    }
  };

  app.put<{ Params: { name: string }; Body: SecretBody }>('/keys/:name', { schema: { params: nameParams, querystring: query, body: secretSchema } }, async (req, reply) => {
    const out = await audited(req, req.params.name, 'create', async (actor) => {
      const v = await source().create(req.params.name, newSecret(req.body, true) as NewSecret, { actor, ...(req.body.retentionDays !== undefined ? { retentionDays: req.body.retentionDays } : {}) });
      return { version: v.version, body: versionBundle(v, v.seq) };
    });
    return reply.code(201).send(out);
  });

  app.post<{ Params: { name: string }; Body: SecretBody }>('/keys/:name/rotate', { schema: { params: nameParams, querystring: query, body: secretSchema } }, async (req) => audited(req, req.params.name, 'rotate', async () => {
    if (req.body.retentionDays !== undefined) throw new KeyReleaseError(400, 'BadParameter', '"retentionDays" is the key\'s, set at creation');
    const v = await source().rotate(req.params.name, newSecret(req.body, false));
    return { version: v.version, body: versionBundle(v, v.seq) };
  }));

  app.patch<{ Params: { name: string; version: string }; Body: { attributes?: { enabled?: boolean }; enabled?: boolean } }>('/keys/:name/:version', {
    schema: {
      params: nameParams, querystring: query,
      body: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, attributes: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' } } } } },
    },
  }, async (req) => {
    // Azure sends {"attributes": {"enabled": false}}; {"enabled": false} is accepted as well.
    const enabled = req.body.attributes?.enabled ?? req.body.enabled;
    return audited(req, req.params.name, enabled === false ? 'disable' : 'enable', async () => {
      if (enabled === undefined) throw new KeyReleaseError(400, 'BadParameter', 'give {"attributes": {"enabled": true|false}}');
      const v = await source().setEnabled(req.params.name, req.params.version, enabled);
      const cur = await source().live(req.params.name, null);
      return { version: v.version, body: versionBundle(v, cur.version.seq) };
    });
  });

  app.delete<{ Params: { name: string } }>('/keys/:name', { schema: { params: nameParams, querystring: query } }, async (req) => audited(req, req.params.name, 'delete', async () => {
    const k = await source().delete(req.params.name);
    return { version: null, body: keyBundle(k, await source().store.listReleaseKeyVersions(k.name)) };
  }));

  app.post<{ Params: { name: string } }>('/keys/:name/recover', { schema: { params: nameParams, querystring: query } }, async (req) => audited(req, req.params.name, 'recover', async () => {
    const k = await source().recover(req.params.name);
    return { version: null, body: keyBundle(k, await source().store.listReleaseKeyVersions(k.name)) };
  }));

  // Reads are authenticated like policy reads, not audited.
  app.get('/keys', { schema: { querystring: query } }, async (req) => {
    ctx.authenticate(req);
    const keys = await source().list();
    return { value: await Promise.all(keys.map(async (k) => keyBundle(k, await source().store.listReleaseKeyVersions(k.name)))) };
  });
  app.get<{ Params: { name: string } }>('/keys/:name', { schema: { params: nameParams, querystring: query } }, async (req) => {
    ctx.authenticate(req);
    const { key, versions } = await source().get(req.params.name);
    return keyBundle(key, versions);
  });
  app.get<{ Params: { name: string } }>('/keys/:name/versions', { schema: { params: nameParams, querystring: query } }, async (req) => {
    ctx.authenticate(req);
    const { versions } = await source().get(req.params.name);
    return { value: versions.map((v) => versionBundle(v, versions[0]!.seq)) };
  });
  app.get<{ Params: { name: string; version: string } }>('/keys/:name/:version', { schema: { params: nameParams, querystring: query } }, async (req) => {
    ctx.authenticate(req);
    const cur = await source().live(req.params.name, null);
    return versionBundle((await source().live(req.params.name, req.params.version)).version, cur.version.seq);
  });
}
