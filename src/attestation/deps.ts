/**
 * What the service needs from its collaborators. The store, the policy language and the quote verifier are
 * injected (ServiceOptions) so the service is a thin shell and tests can run them at a fixed time.
 */
import type { Collateral, Verdict, VerifyOptions } from '../dcap/index.js';
import type { PckExtensions } from '../sgx/pck.js';
import type { Quote } from '../sgx/quote.js';
import type { ReleaseKeyStore, Store } from '../store/types.js';

export type { SigningKeyRecord, PolicyRecord, PolicyCertRecord, CollateralRecord, AuditRecord } from '../store/types.js';

/**
 * The part of the store the service uses (the in-memory test store implements just this). The key store is
 * separate (ServiceOptions.keyStore); the dashboard's reads (src/web) are there when the store is a real one, and
 * without them /ui says so.
 */
export type AttestationStore = Omit<Store, 'kind' | 'policyHistory' | 'aggregateAudit' | 'auditAdvisories' | keyof ReleaseKeyStore> & { readonly kind: string };

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

/**
 * DCAP quote verification (src/dcap's `Verifier`): one object for the service's lifetime, holding the caches of
 * parsed PCK chains, so the collateral lookup and the verification of a quote read its certificates once.
 */
export interface QuoteVerifier {
  verify(quote: Quote, collateral: Collateral, options: VerifyOptions): Verdict;
  /**
   * FMSPC and the rest of the PCK certificate's SGX extensions; with `trustAnchors` the PCK chain must lead to
   * one of them. Throws a ConfkubeError when unreadable or untrusted.
   */
  pckExtensions(quote: Quote, trustAnchors?: readonly Uint8Array[]): PckExtensions;
}
