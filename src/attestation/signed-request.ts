import { createHash } from 'node:crypto';
import type { AttestationStore } from './deps.js';
import { badRequest } from './errors.js';
import type { PolicyBook, AttestationType } from './policies.js';
import { thumbprint, type ParsedJws } from './policy-jws.js';

export type ManagementOp = 'policies:set' | 'policies:reset' | 'certificates:add' | 'certificates:remove';

/** Protected-header parameters that bind a signed management body to one operation (docs/policy-signing.md §3). */
export const HEADER_OP = 'x-confkube-op';
export const HEADER_ATTESTATION_TYPE = 'x-confkube-attestation-type';
/** A bound request's `iat` may be this old at most, and this far in the future (clock skew). */
export const SIGNED_REQUEST_MAX_AGE_S = 600;
const SIGNED_REQUEST_SKEW_S = 60;

const LEDGER_PREFIX = 'jws:';

export interface SignedRequest {
  op: ManagementOp;
  /** The attestation type a policy operation acts on; null for certificate operations. */
  type: AttestationType | null;
  jws: ParsedJws;
  /** `admin:…` from AdminAuth. */
  caller: string;
  clientAddress: string;
}

/** The ledger key of a management body: every accepted one is in the audit log under it. */
export function ledgerId(raw: string): string {
  return LEDGER_PREFIX + createHash('sha256').update(raw, 'ascii').digest('base64url');
}

function iatOf(header: Record<string, unknown>): number | null {
  return typeof header.iat === 'number' && Number.isFinite(header.iat) ? header.iat : null;
}

/**
 * Isolated mode (docs/attestation.md §Admin authentication): every management change is a JWS signed by a registered certificate. On top
 * of MAA, a signed body counts once, for one operation and one attestation type:
 *  - each accepted body is written to the audit log under its SHA-256 before it takes effect, and a body found
 *    there is refused, so neither a policy read back with GET, nor an older policy, nor a reset meant for another
 *    type, nor an old `certificates:add` can be played again;
 *  - a body may name its operation and type in its protected header (`x-confkube-op`,
 *    `x-confkube-attestation-type`) with an `iat`; then both must match, the `iat` must be recent, and a policy
 *    older than the one in force is refused.
 * Isolated mode is a property of the store: it holds while any policy-management certificate is registered (the
 * final one cannot be removed), whatever flags a later start is given.
 */
export class SignedRequestGuard {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AttestationStore,
    private readonly policies: PolicyBook,
    private readonly now: () => number,
    /** Refuse bodies without `x-confkube-op` (and its type and `iat`): for operators whose tooling signs bound bodies. */
    private readonly requireBound = false,
  ) {}

  async isolated(): Promise<boolean> {
    return (await this.store.listPolicyCertificates()).length > 0;
  }

  /** Management writes run one at a time in this process, so a body cannot pass the ledger twice concurrently. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Refuse what isolated mode refuses, then record the body in the ledger (the audit log). Call inside
   * `exclusive`, after the body was validated and before the change is applied. In AAD mode (no certificate
   * registered) any body is accepted, signed or not, as by MAA; it is recorded all the same.
   */
  async admit(r: SignedRequest, what: string): Promise<void> {
    const registered = await this.store.listPolicyCertificates();
    if (registered.length > 0) {
      if (!r.jws.signer) throw badRequest(`${what}: Unsigned JWS specified but the service is configured with policy signing certificates`, 'InvalidOperation');
      const tp = thumbprint(r.jws.signer);
      if (!registered.some((c) => c.thumbprint.toUpperCase() === tp)) throw badRequest(`${what}: signer ${tp} is not a registered policy management certificate`, 'InvalidOperation');
      this.checkBinding(r, what);
      await this.checkFresh(r, what);
    }
    await this.store.appendAudit({
      time: this.now(), clientAddress: r.clientAddress, attestationType: `management/${r.op}${r.type ? `/${r.type}` : ''}`,
      mrEnclave: null, mrSigner: null, tcbStatus: null, decision: 'permit', policyHash: null, tokenId: ledgerId(r.jws.raw), simulated: false,
      reason: `${r.caller}${r.jws.signer ? ` signed by ${thumbprint(r.jws.signer)}` : ''}`,
    });
  }

  private checkBinding(r: SignedRequest, what: string): void {
    const h = r.jws.header;
    if (h[HEADER_OP] !== undefined && h[HEADER_OP] !== r.op) throw badRequest(`${what}: signed for ${JSON.stringify(h[HEADER_OP])}, not ${r.op}`, 'InvalidOperation');
    if (h[HEADER_ATTESTATION_TYPE] !== undefined && h[HEADER_ATTESTATION_TYPE] !== r.type) {
      throw badRequest(`${what}: signed for attestation type ${JSON.stringify(h[HEADER_ATTESTATION_TYPE])}, not ${r.type ?? 'a certificate operation'}`, 'InvalidOperation');
    }
    if (h[HEADER_OP] === undefined) {
      if (this.requireBound) throw badRequest(`${what}: this service requires signed bodies bound by ${HEADER_OP}, ${HEADER_ATTESTATION_TYPE} and iat in the protected header`, 'InvalidOperation');
      return;
    }
    if (r.type !== null && h[HEADER_ATTESTATION_TYPE] === undefined) throw badRequest(`${what}: a body bound by ${HEADER_OP} must also name ${HEADER_ATTESTATION_TYPE}`, 'InvalidOperation');
    const iat = iatOf(h);
    if (iat === null) throw badRequest(`${what}: a body bound by ${HEADER_OP} must carry a numeric iat`, 'InvalidOperation');
    const nowS = Math.floor(this.now() / 1000);
    if (iat > nowS + SIGNED_REQUEST_SKEW_S) throw badRequest(`${what}: iat ${iat} is in the future`, 'InvalidOperation');
    if (nowS - iat > SIGNED_REQUEST_MAX_AGE_S) throw badRequest(`${what}: signed ${nowS - iat} s ago, older than ${SIGNED_REQUEST_MAX_AGE_S} s`, 'InvalidOperation');
  }

  private async checkFresh(r: SignedRequest, what: string): Promise<void> {
    if (r.type !== null) {
      const inForce = this.policies.get(r.type);
      if (!inForce.isDefault && inForce.jws === r.jws.raw) throw badRequest(`${what}: this signed policy is already the one in force; a replayed body is refused`, 'InvalidOperation');
      const iat = iatOf(r.jws.header);
      const forceIat = inForce.isDefault ? null : iatOfJws(inForce.jws);
      if (iat !== null && forceIat !== null && iat <= forceIat) throw badRequest(`${what}: signed at ${iat}, not after the policy in force (${forceIat})`, 'InvalidOperation');
    }
    const used = await this.store.queryAudit({ tokenId: ledgerId(r.jws.raw), limit: 1 });
    if (used.length > 0) {
      throw badRequest(`${what}: this signed body was already used (${used[0]!.attestationType}); sign a new one for each change`, 'InvalidOperation');
    }
  }
}

function iatOfJws(jws: string): number | null {
  try {
    return iatOf(JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>);
  } catch {
    return null;
  }
}
