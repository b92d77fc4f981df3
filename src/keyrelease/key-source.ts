import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyProtector } from '../store/sealed-key.js';
import type { ReleaseKeyRecord, ReleaseKeyStore, ReleaseKeyVersionRecord } from '../store/types.js';
import { KeyReleaseError } from './errors.js';
import { parseReleasePolicy, type ReleasePolicy } from './release-policy.js';

/** A key version ready to be released (or refused): its secret opened, its policy parsed. */
export interface ResolvedKey {
  name: string;
  version: string;
  enabled: boolean;
  secret: Uint8Array;
  policy: ReleasePolicy;
}

/**
 * Where the release routes find keys (docs/keyrelease.md §Key store). `null` from `resolve` means no such key or
 * version, or a deleted key: the route answers 404 either way.
 */
export interface KeySource {
  resolve(name: string, version: string | null): Promise<ResolvedKey | null>;
  /** A key that exists and is not deleted (nonces are issued only for those). */
  exists(name: string): Promise<boolean>;
}

/** Key names as Azure Key Vault allows them, plus `_` (accepted by `--release-key` before the store existed). */
export const KEY_NAME = /^[A-Za-z0-9_-]{1,127}$/;
/** Versions this service makes: 32 hex digits. */
export const KEY_VERSION = /^[0-9a-f]{32}$/;
/** Azure Key Vault's soft-delete retention: 7 to 90 days, 90 by default. */
export const RETENTION_DAYS = { min: 7, max: 90, default: 90 } as const;
export const MAX_SECRET_BYTES = 8192;
const DAY_MS = 86_400_000;

/** The AAD that binds a sealed secret to its key name and version: a sealed value moved to another row does not open. */
export const secretAad = (name: string, version: string): string => `confkube release key ${name}/${version}`;

export interface NewSecret {
  /** The secret itself, or how many random bytes to generate for it. */
  secret: Uint8Array | { generateBytes: number };
  /** The release policy as JSON (Azure SKR policy with the `confkube` section); checked here. */
  policy: unknown;
  enabled?: boolean;
}

const notFound = (what: string): KeyReleaseError => new KeyReleaseError(404, 'KeyNotFound', what);
const conflict = (what: string): KeyReleaseError => new KeyReleaseError(409, 'Conflict', what);
const badParam = (what: string): KeyReleaseError => new KeyReleaseError(400, 'BadParameter', what);

export function checkKeyName(name: string): void {
  if (!KEY_NAME.test(name)) throw badParam(`key name ${JSON.stringify(name.slice(0, 60))}: 1 to 127 letters, digits, - or _`);
}

/**
 * The key store over a ReleaseKeyStore: secrets sealed with the service's KeyProtector (AES-256-GCM under the
 * KEK, docs/key-protection.md), opened only to release them. The management routes call the write methods;
 * none of them returns a secret.
 */
export class StoreKeySource implements KeySource {
  /** Parsed policies by their JSON text: the same few policies are read on every release. */
  private readonly parsed = new Map<string, ReleasePolicy>();

  constructor(readonly store: ReleaseKeyStore, private readonly protector: KeyProtector, private readonly now: () => number) {}

  async resolve(name: string, version: string | null): Promise<ResolvedKey | null> {
    if (!KEY_NAME.test(name) || (version !== null && !KEY_VERSION.test(version))) return null;
    const found = await this.store.getReleaseKeyVersion(name, version);
    if (found === null || found.key.deletedAt !== null) return null;
    const v = found.version;
    return { name, version: v.version, enabled: v.enabled, secret: await this.protector.open(v.sealedSecret, secretAad(name, v.version)), policy: this.policyOf(v.policy) };
  }

  async exists(name: string): Promise<boolean> {
    if (!KEY_NAME.test(name)) return false;
    const k = await this.store.getReleaseKey(name);
    return k !== null && k.deletedAt === null;
  }

  private policyOf(text: string): ReleasePolicy {
    let p = this.parsed.get(text);
    if (p === undefined) {
      p = parseReleasePolicy(JSON.parse(text));
      if (this.parsed.size >= 1024) this.parsed.delete(this.parsed.keys().next().value as string);
      this.parsed.set(text, p);
    }
    return p;
  }

  private async version(name: string, s: NewSecret, at: number): Promise<{ name: string; version: string; sealedSecret: string; policy: string; enabled: boolean; createdAt: number; updatedAt: number }> {
    parseReleasePolicy(s.policy);
    let secret: Uint8Array;
    if (s.secret instanceof Uint8Array) secret = s.secret;
    else {
      const n = s.secret.generateBytes;
      if (!Number.isInteger(n) || n < 1 || n > MAX_SECRET_BYTES) throw badParam(`generateBytes: an integer from 1 to ${MAX_SECRET_BYTES}`);
      secret = randomBytes(n);
    }
    if (secret.length === 0 || secret.length > MAX_SECRET_BYTES) throw badParam(`secret: 1 to ${MAX_SECRET_BYTES} bytes, got ${secret.length}`);
    const version = randomBytes(16).toString('hex');
    return { name, version, sealedSecret: await this.protector.seal(secret, secretAad(name, version)), policy: JSON.stringify(s.policy), enabled: s.enabled ?? true, createdAt: at, updatedAt: at };
  }

  /** A new key with its first version; 409 if the name is taken (also by a deleted key still in retention). */
  async create(name: string, s: NewSecret, o: { actor: string; retentionDays?: number }): Promise<ReleaseKeyVersionRecord> {
    checkKeyName(name);
    const retentionDays = o.retentionDays ?? RETENTION_DAYS.default;
    if (!Number.isInteger(retentionDays) || retentionDays < RETENTION_DAYS.min || retentionDays > RETENTION_DAYS.max) {
      throw badParam(`retentionDays: an integer from ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}`);
    }
    const at = this.now();
    await this.store.purgeReleaseKeys(at);
    const existing = await this.store.getReleaseKey(name);
    if (existing) throw conflict(existing.deletedAt !== null ? `key ${name} is deleted and recoverable until ${new Date(existing.purgeAt!).toISOString()}: recover it, or wait until it is purged` : `key ${name} already exists: rotate it for a new version`);
    const key: ReleaseKeyRecord = { name, createdAt: at, createdBy: o.actor, retentionDays, deletedAt: null, purgeAt: null };
    return this.conflictAs409(this.store.createReleaseKey(key, await this.version(name, s, at)));
  }

  /** A new current version; the policy defaults to the current version's. Older versions stay as they are. */
  async rotate(name: string, s: Omit<NewSecret, 'policy'> & { policy?: unknown }): Promise<ReleaseKeyVersionRecord> {
    const at = this.now();
    await this.store.purgeReleaseKeys(at);
    const cur = await this.live(name, null);
    return this.conflictAs409(this.store.addReleaseKeyVersion(await this.version(name, { ...s, policy: s.policy ?? JSON.parse(cur.version.policy) }, at)));
  }

  async setEnabled(name: string, version: string, enabled: boolean): Promise<ReleaseKeyVersionRecord> {
    await this.live(name, version);
    if (!(await this.store.setReleaseKeyVersionEnabled(name, version, enabled, this.now()))) throw notFound(`key ${name} has no version ${version}`);
    return (await this.live(name, version)).version;
  }

  /** Soft delete: never released again; recoverable for the key's retention period, then purged. */
  async delete(name: string): Promise<ReleaseKeyRecord> {
    const at = this.now();
    await this.store.purgeReleaseKeys(at);
    const k = await this.store.getReleaseKey(name);
    if (k === null || k.deletedAt !== null) throw notFound(`no key named ${JSON.stringify(name.slice(0, 60))}`);
    const purgeAt = at + k.retentionDays * DAY_MS;
    if (!(await this.store.deleteReleaseKey(name, at, purgeAt))) throw notFound(`no key named ${JSON.stringify(name.slice(0, 60))}`);
    return { ...k, deletedAt: at, purgeAt };
  }

  async recover(name: string): Promise<ReleaseKeyRecord> {
    const at = this.now();
    await this.store.purgeReleaseKeys(at);
    if (!(await this.store.recoverReleaseKey(name, at))) throw notFound(`no deleted key named ${JSON.stringify(name.slice(0, 60))} (never deleted, or purged)`);
    return (await this.store.getReleaseKey(name))!;
  }

  async list(): Promise<ReleaseKeyRecord[]> {
    await this.store.purgeReleaseKeys(this.now());
    return this.store.listReleaseKeys();
  }

  /** A key (deleted ones too: their deletion and purge dates are shown) with its versions, newest first. */
  async get(name: string): Promise<{ key: ReleaseKeyRecord; versions: ReleaseKeyVersionRecord[] }> {
    await this.store.purgeReleaseKeys(this.now());
    const key = KEY_NAME.test(name) ? await this.store.getReleaseKey(name) : null;
    if (key === null) throw notFound(`no key named ${JSON.stringify(name.slice(0, 60))}`);
    return { key, versions: await this.store.listReleaseKeyVersions(name) };
  }

  /** A key version of a key that is not deleted (null: the current one), or 404. */
  async live(name: string, version: string | null): Promise<{ key: ReleaseKeyRecord; version: ReleaseKeyVersionRecord }> {
    const found = KEY_NAME.test(name) && (version === null || KEY_VERSION.test(version)) ? await this.store.getReleaseKeyVersion(name, version) : null;
    if (found === null || found.key.deletedAt !== null) throw notFound(version === null ? `no key named ${JSON.stringify(name.slice(0, 60))}` : `key ${name} has no version ${JSON.stringify(version.slice(0, 40))}`);
    return found;
  }

  /**
   * `confkube serve --release-key`: the key is created, or gets a new version when the file's secret or policy
   * differs from the current version's; unchanged, nothing is written, so restarts and replicas agree. A key
   * deleted through the API stays deleted (returned as 'deleted').
   */
  async importKey(name: string, secret: Uint8Array, policy: unknown, actor: string): Promise<'created' | 'rotated' | 'unchanged' | 'deleted'> {
    checkKeyName(name);
    for (let attempt = 0; ; attempt++) {
      const k = await this.store.getReleaseKey(name);
      if (k?.deletedAt != null) return 'deleted';
      try {
        if (k === null) {
          await this.create(name, { secret, policy }, { actor });
          return 'created';
        }
        const cur = await this.live(name, null);
        const opened = await this.protector.open(cur.version.sealedSecret, secretAad(name, cur.version.version));
        // An operator's enable/disable through the API is theirs: only the secret and the policy are compared.
        if (cur.version.policy === JSON.stringify(policy) && opened.length === secret.length && timingSafeEqual(opened, secret)) return 'unchanged';
        await this.rotate(name, { secret, policy });
        return 'rotated';
      } catch (e) {
        // Another replica imported the same key at the same moment: look again, once.
        if (attempt === 0 && e instanceof KeyReleaseError && e.status === 409) continue;
        throw e;
      }
    }
  }

  private async conflictAs409<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ERR_STORE_CONFLICT') throw conflict((e as Error).message);
      throw e;
    }
  }
}
