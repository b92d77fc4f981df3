/**
 * What the service needs from its collaborators. The store, the policy language and the verifier are
 * injected so the service is a thin shell (docs/attestation.md §Decisions) and tests can run them at a fixed time.
 */
import type { Store } from '../store/types.js';

export type { SigningKeyRecord, PolicyRecord, PolicyCertRecord, CollateralRecord, AuditRecord } from '../store/types.js';

/** The part of the store the service uses (the in-memory test store implements just this). */
export type AttestationStore = Omit<Store, 'kind' | 'policyHistory'> & { readonly kind: string };

/** Claims as the policy sees them: claim type → value (boolean, number, string, or JSON object). */
export type ClaimMap = Record<string, unknown>;

export interface PolicyOutcome {
  permit: boolean;
  /** Claims issued by `issuancerules`, by type (a multi-valued claim is an array). */
  issued: ClaimMap;
  reason?: string;
  /** Refused because the evaluation ran out of its budget, not because a rule denied. */
  exhausted?: boolean;
}

/** Steps and wall time one evaluation may take (src/policy/budget.ts). */
export interface PolicyBudget { maxSteps: number; maxMs: number }

export interface CompiledPolicy {
  evaluate(incoming: ClaimMap, budget?: PolicyBudget): PolicyOutcome;
}

/** The policy language (src/policy), adapted: compile throws a ConfkubeError on a syntax error. */
export interface PolicyEngine {
  compile(text: string): CompiledPolicy;
  /** The default policy text per attestation type (MAA: P1 for SgxEnclave and OpenEnclave). */
  defaultPolicy(attestationType: string): string;
}
