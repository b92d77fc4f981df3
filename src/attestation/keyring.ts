import { createPublicKey } from 'node:crypto';
import type { AttestationStore, SigningKeyRecord } from './deps.js';
import { b64std } from './base64.js';
import { createSigningKey, loadSigningKey, type LoadedKey } from './signing-key.js';

export interface Jwk { kty: 'RSA'; kid: string; x5c: string[]; n: string; e: string }

/**
 * The token signing keys, shared through the store by every replica. The newest active key signs; retired
 * keys stay in the JWKS for `retainMs` so tokens they signed still verify during rotation (docs/attestation.md §Signing keys:
 * every key carries x5c, only RSA keys).
 */
export class Keyring {
  private keys: LoadedKey[] = [];

  constructor(
    private readonly store: AttestationStore,
    private readonly baseUrl: string,
    private readonly now: () => number,
    private readonly retainMs = 7 * 86400_000,
  ) {}

  /** Load the keys; create the first one if the store has none (several replicas may race: all keys are kept). */
  async init(): Promise<void> {
    await this.reload();
    if (this.active() === null) {
      await this.store.addSigningKey(await createSigningKey(this.baseUrl, this.now()));
      await this.reload();
    }
  }

  private inflight: Promise<void> | null = null;

  /**
   * For /certs: replicas that started together may each have created a key; publish what the store holds now
   * so a token signed by any replica verifies against any replica's JWKS. Concurrent requests share one query.
   */
  async reloadShared(): Promise<void> {
    this.inflight ??= this.reload().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  async reload(): Promise<void> {
    const records = await this.store.listSigningKeys();
    const byKid = new Map(this.keys.map((k) => [k.record.kid, k]));
    this.keys = records
      .filter((r) => r.retiredAt === null || r.retiredAt + this.retainMs > this.now())
      .map((r) => {
        const old = byKid.get(r.kid);
        return old && old.record.retiredAt === r.retiredAt ? old : loadSigningKey(r);
      })
      .sort((a, b) => b.record.activeFrom - a.record.activeFrom || a.record.kid.localeCompare(b.record.kid));
  }

  /** The signing key: the newest key that is active now and not retired. */
  active(): LoadedKey | null {
    const t = this.now();
    return this.keys.find((k) => k.record.retiredAt === null && k.record.activeFrom <= t) ?? null;
  }

  /** New key becomes the signer; the previous active key is retired but stays published. */
  async rotate(): Promise<SigningKeyRecord> {
    const previous = this.active();
    const rec = await createSigningKey(this.baseUrl, this.now());
    await this.store.addSigningKey(rec);
    if (previous) await this.store.retireSigningKey(previous.record.kid, this.now());
    await this.reload();
    return rec;
  }

  jwks(): { keys: Jwk[] } {
    // MAA publishes only kty, kid and x5c (docs/attestation.md §Signing keys); n and e are added because generic JOSE libraries
    // (jose's createRemoteJWKSet) import keys from them and ignore x5c. The SDK and Gramine read x5c.
    return {
      keys: this.keys.map((k) => {
        const { n, e } = createPublicKey(k.privateKey).export({ format: 'jwk' }) as { n: string; e: string };
        return { x5c: [b64std(k.certDer)], kid: k.record.kid, kty: 'RSA' as const, n, e };
      }),
    };
  }
}
