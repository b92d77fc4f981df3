import type { AttestationStore, CompiledPolicy, PolicyEngine } from './deps.js';
import { policyHash, unsecuredPolicyJws } from './policy-jws.js';
import { AttestationError } from './errors.js';

/** The `x-ms-policy-signer` JWK of a stored signed policy JWS (its header's x5c), or null for an unsecured one. */
export function signerOfJws(jws: string): Record<string, unknown> | null {
  try {
    const h = JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString('utf8')) as { alg?: string; x5c?: string[] };
    if (h.alg === 'none' || !Array.isArray(h.x5c)) return null;
    return { kty: h.alg?.startsWith('ES') ? 'EC' : 'RSA', x5c: h.x5c.slice(0, 1) };
  } catch {
    return null;
  }
}

export const ATTESTATION_TYPES = ['SgxEnclave', 'OpenEnclave'] as const;
export type AttestationType = (typeof ATTESTATION_TYPES)[number];

export interface ActivePolicy {
  text: string;
  /** The JWS as stored (for GET /policies): the uploaded one, or an unsecured JWS of the default. */
  jws: string;
  hash: string;
  compiled: CompiledPolicy;
  isDefault: boolean;
  signer: Record<string, unknown> | null;
}

/**
 * The policy in force per attestation type, compiled once. Replicas share policies through the store and poll
 * its cheap `policyVersion()` so a policy set on one process applies on the others within a second (issue 6).
 */
export class PolicyBook {
  private current = new Map<string, ActivePolicy>();
  private version = -1;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: AttestationStore, private readonly engine: PolicyEngine) {}

  async init(pollMs = 250): Promise<void> {
    await this.refresh();
    if (pollMs > 0) {
      this.timer = setInterval(() => {
        this.refresh().catch(() => undefined);
      }, pollMs);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reload every type when the store's policy version moved. */
  async refresh(force = false): Promise<void> {
    const v = await this.store.policyVersion();
    if (!force && v === this.version) return;
    const next = new Map<string, ActivePolicy>();
    for (const t of ATTESTATION_TYPES) {
      const rec = await this.store.getPolicy(t);
      if (rec) {
        next.set(t, { text: rec.text, jws: rec.jws, hash: rec.hash, compiled: this.compileStored(t, rec.text), isDefault: false, signer: signerOfJws(rec.jws) });
      } else {
        const text = this.engine.defaultPolicy(t);
        next.set(t, { text, jws: unsecuredPolicyJws(text), hash: policyHash(text), compiled: this.engine.compile(text), isDefault: true, signer: null });
      }
    }
    this.current = next;
    this.version = v;
  }

  /**
   * A stored policy that no longer compiles (e.g. written by a newer replica) must not stop the service: it
   * refuses attestations of that type, saying why, until the policy is set again or reset.
   */
  private compileStored(type: string, text: string): CompiledPolicy {
    try {
      return this.engine.compile(text);
    } catch (e) {
      const reason = `the stored ${type} policy does not compile (${(e as Error).message}); set or reset it`;
      return { evaluate: () => ({ permit: false, issued: {}, reason }) };
    }
  }

  get(type: AttestationType): ActivePolicy {
    const p = this.current.get(type);
    if (!p) throw new AttestationError(503, 'ServiceUnavailable', `policy book not initialised for ${type}`, 'ERR_POLICY_BOOK_NOT_READY');
    return p;
  }
}
