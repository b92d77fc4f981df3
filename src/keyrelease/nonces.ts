import { randomBytes } from 'node:crypto';

interface Issued { key: string; expiresAt: number }

/**
 * Challenges for key release (docs/keyrelease.md §Challenge–response): the service hands out a random nonce for one key, the
 * enclave puts it in its runtime data (bound to the quote through its report data), and the release consumes it.
 * A nonce works once and expires; the table is bounded (the oldest outstanding nonce goes first). Kept in this
 * process: with several replicas, the release must reach the replica that issued the nonce.
 */
export class NonceBook {
  private readonly issued = new Map<string, Issued>();

  constructor(private readonly now: () => number, private readonly ttlMs = 120_000, private readonly max = 10_000) {}

  issue(key: string): { nonce: string; expiresAt: number } {
    this.sweep();
    if (this.issued.size >= this.max) this.issued.delete(this.issued.keys().next().value as string);
    const nonce = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.issued.set(nonce, { key, expiresAt });
    return { nonce, expiresAt };
  }

  /** True once for a nonce issued for `key` and not expired; it is gone afterwards either way. */
  consume(key: string, nonce: string): boolean {
    const n = this.issued.get(nonce);
    if (!n) return false;
    this.issued.delete(nonce);
    return n.key === key && this.now() <= n.expiresAt;
  }

  get outstanding(): number {
    return this.issued.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, v] of this.issued) {
      if (v.expiresAt >= t) break;
      this.issued.delete(k);
    }
  }
}
