import { createPublicKey } from 'node:crypto';
import type { AttestationStore, SigningKeyRecord } from './deps.js';
import { b64std } from './base64.js';
import { createSigningKey, loadSigningKey, sealPurpose, type LoadedKey } from './signing-key.js';
import { isSealed, type KeyProtector } from '../store/sealed-key.js';

export interface Jwk { kty: 'RSA'; kid: string; x5c: string[]; n: string; e: string }

/** How long tokens signed by a key can stay valid after it stops signing: attestation tokens live 8 h (as MAA). */
export const TOKEN_LIFETIME_MS = 8 * 3600_000;
/** Clock difference between replicas and relying parties tolerated on top. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** Every replica re-reads the keys this often. */
export const KEY_RELOAD_MS = 10_000;
/** A rotated-in key is published this long before it signs: two reloads, so every replica's /certs has it first. */
export const ACTIVATION_DELAY_MS = 2 * KEY_RELOAD_MS;

export interface KeyringOptions {
  protector: KeyProtector;
  /** Hears of keys re-sealed or retired at start. */
  log?: (msg: string) => void;
}

/** Where a key stands at a time, for /certs, /metrics and `confkube rotate-signing-key` (docs/key-protection.md). */
export interface KeySchedule {
  kid: string;
  state: 'pending' | 'signing' | 'retired';
  activeFrom: number;
  retiredAt: number | null;
  /** When it leaves /certs: retiredAt + token lifetime + clock skew; null while not retired. */
  unpublishAt: number | null;
}

/**
 * The token signing keys, shared through the store by every replica. One key signs: the newest whose
 * `activeFrom` has come and that is not retired. A rotated-in key is published `ACTIVATION_DELAY_MS` before it
 * signs, and the key it replaces retires at that instant and stays in the JWKS for as long as tokens it signed
 * can be valid (`TOKEN_LIFETIME_MS + CLOCK_SKEW_MS`), then leaves (docs/attestation.md §Signing keys: every key carries x5c, RSA only).
 */
export class Keyring {
  private keys: LoadedKey[] = [];
  private readonly protector: KeyProtector;
  private readonly log: (msg: string) => void;

  constructor(
    private readonly store: AttestationStore,
    private readonly baseUrl: string,
    private readonly now: () => number,
    o: KeyringOptions,
  ) {
    this.protector = o.protector;
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Re-seals legacy plaintext keys, loads the keys, and creates the first one if no key is live. Replicas that
   * start together create exactly one key between them (`addFirstSigningKey` decides under a lock); the losers
   * discard theirs and load the winner's. Several live keys (left by older versions' start-up race) are cut
   * down to the newest; the others retire now and leave /certs on schedule.
   */
  async init(): Promise<void> {
    await this.resealPlaintext();
    await this.reload();
    if (!this.keys.some((k) => k.record.retiredAt === null)) {
      await this.store.addFirstSigningKey(await createSigningKey(this.baseUrl, this.now(), this.protector));
      await this.reload();
    }
    const live = this.keys.filter((k) => k.record.retiredAt === null && k.record.activeFrom <= this.now());
    if (live.length > 1) {
      const [keep, ...extra] = live;
      for (const k of extra) await this.store.retireSigningKey(k.record.kid, this.now());
      this.log(`signing keys ${extra.map((k) => k.record.kid).join(', ')} retired: ${keep!.record.kid} is the one signing key; they leave /certs at ${new Date(this.now() + TOKEN_LIFETIME_MS + CLOCK_SKEW_MS).toISOString()}`);
      await this.reload();
    }
  }

  /** Rows written before keys were sealed hold PEM: seal each under the KEK (compare-and-set, so replicas may race). */
  private async resealPlaintext(): Promise<void> {
    for (const r of await this.store.listSigningKeys()) {
      if (isSealed(r.sealedPrivateKey)) continue;
      const k = await loadSigningKey(r, this.protector);
      const der = k.privateKey.export({ type: 'pkcs8', format: 'der' });
      const sealed = await this.protector.seal(der, sealPurpose(r.kid));
      der.fill(0);
      if (await this.store.resealSigningKey(r.kid, r.sealedPrivateKey, sealed)) this.log(`signing key ${r.kid} was stored in plaintext; sealed now under key-encryption key ${this.protector.id}`);
    }
  }

  private lastReload = 0;
  private inflight: Promise<void> | null = null;

  /**
   * For /certs: the keys as last loaded, with a background reload at most once a second. Never waits for the
   * store, so /certs answers while the database is away; keys are published before they sign, so a token
   * signed by any replica verifies against any replica's JWKS.
   */
  async reloadShared(): Promise<void> {
    if (this.now() - this.lastReload >= 1000 && this.inflight === null) {
      this.inflight = this.reload().catch(() => undefined).finally(() => {
        this.inflight = null;
      });
    }
    if (this.keys.length === 0) await this.inflight;
  }

  async reload(): Promise<void> {
    const records = await this.store.listSigningKeys();
    const byKid = new Map(this.keys.map((k) => [k.record.kid, k]));
    const t = this.now();
    const loaded: LoadedKey[] = [];
    for (const r of records.filter((x) => x.retiredAt === null || t < unpublishAt(x.retiredAt))) {
      const old = byKid.get(r.kid);
      loaded.push(old && old.record.retiredAt === r.retiredAt && old.record.activeFrom === r.activeFrom ? old : await loadSigningKey(r, this.protector));
    }
    this.keys = loaded.sort((a, b) => b.record.activeFrom - a.record.activeFrom || a.record.kid.localeCompare(b.record.kid));
    this.lastReload = t;
  }

  /**
   * The signing key: the newest key whose activeFrom has come and that is not retired. A replica that has not
   * yet read its successor keeps the newest key it knows (still published: it retired only just now).
   */
  active(): LoadedKey | null {
    const t = this.now();
    const started = this.keys.filter((k) => k.record.activeFrom <= t);
    return started.find((k) => k.record.retiredAt === null || k.record.retiredAt > t) ?? started[0] ?? null;
  }

  /**
   * A new key that signs from `now + activationDelayMs`; the live keys retire at that instant. Every replica
   * reloads within KEY_RELOAD_MS, so with the default delay each publishes the new key before anyone signs with it.
   */
  async rotate(activationDelayMs = ACTIVATION_DELAY_MS): Promise<SigningKeyRecord> {
    const t = this.now();
    const live = (await this.store.listSigningKeys()).filter((r) => r.retiredAt === null);
    const rec = await createSigningKey(this.baseUrl, t, this.protector, t + activationDelayMs);
    await this.store.addSigningKey(rec);
    for (const r of live) await this.store.retireSigningKey(r.kid, rec.activeFrom);
    await this.reload();
    return rec;
  }

  /** Every published key with its state and dates, newest first. */
  schedule(): KeySchedule[] {
    const t = this.now();
    const signer = this.active()?.record.kid;
    return this.keys.map(({ record: r }) => ({
      kid: r.kid,
      state: r.kid === signer ? 'signing' : r.activeFrom > t ? 'pending' : 'retired',
      activeFrom: r.activeFrom,
      retiredAt: r.retiredAt,
      unpublishAt: r.retiredAt === null ? null : unpublishAt(r.retiredAt),
    }));
  }

  jwks(): { keys: Jwk[] } {
    // MAA publishes only kty, kid and x5c (docs/attestation.md §Signing keys); n and e are added because generic JOSE libraries
    // (jose's createRemoteJWKSet) import keys from them and ignore x5c. The SDK and Gramine read x5c.
    const t = this.now();
    return {
      keys: this.keys.filter((k) => k.record.retiredAt === null || t < unpublishAt(k.record.retiredAt)).map((k) => {
        const { n, e } = createPublicKey(k.privateKey).export({ format: 'jwk' }) as { n: string; e: string };
        return { x5c: [b64std(k.certDer)], kid: k.record.kid, kty: 'RSA' as const, n, e };
      }),
    };
  }
}

/** A key retired at RETIREDAT leaves /certs once every token it signed has expired (plus skew). */
export function unpublishAt(retiredAt: number): number {
  return retiredAt + TOKEN_LIFETIME_MS + CLOCK_SKEW_MS;
}
