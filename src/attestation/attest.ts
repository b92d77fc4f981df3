import { createHash } from 'node:crypto';
import { parseQuote } from '../sgx/quote.js';
import { toHex, bytesEqual, readU32LE } from '../lib/bytes.js';
import { isConfkubeError } from '../lib/errors.js';
import type { AuditRecord, ClaimMap, QuoteVerifier } from './deps.js';
import { AttestationError, badRequest } from './errors.js';
import { collateralClaim, isReservedClaim, legacyServiceClaims, sgxClaims, type RuntimeInput } from './claims.js';
import type { CollateralCache } from './collateral-cache.js';
import type { Keyring } from './keyring.js';
import type { AttestationType, PolicyBook } from './policies.js';
import type { PolicyBudget, PolicyEngine, PolicyOutcome } from './deps.js';
import type { PolicyPool } from './policy-pool.js';
import { policyHash } from './policy-jws.js';
import { ATTESTATION_TOKEN_LIFETIME_S, newTokenId, signToken, timeClaims, unsecuredToken } from './token.js';

export interface AttestRequest {
  type: AttestationType;
  /** Quote bytes (SgxEnclave) or Open Enclave report bytes (OpenEnclave: 16-byte header + quote). */
  evidence: Uint8Array;
  runtime?: RuntimeInput;
  initTime?: RuntimeInput;
  draftPolicy?: string;
  nonce?: string;
  /** False: the claims only, no signed token (key release by challenge–response evaluates them in-process). */
  sign?: boolean;
}

export type AuditFields = Omit<AuditRecord, 'time' | 'clientAddress' | 'id'>;

export type AttestOutcome =
  | { ok: true; token: string; claims: ClaimMap; audit: AuditFields }
  | { ok: false; error: AttestationError; audit: AuditFields };

export interface AttesterDeps {
  baseUrl: string;
  now: () => number;
  verifyAt: () => number;
  keyring: Keyring;
  policies: PolicyBook;
  engine: PolicyEngine;
  collateral: CollateralCache;
  verifier: QuoteVerifier;
  /** Extra claim on every token whose evidence chains to the simulated root. */
  simulationEnabled: boolean;
  /** Where draft policies are compiled and evaluated: off the request thread, under a deadline. */
  drafts: PolicyPool;
  /** Steps and time the policy in force may take per attestation. */
  budget: PolicyBudget;
}

/** Open Enclave report header (docs/attestation.md §Open Enclave report header): u32 version = 1, u32 type = 2 (remote), u64 size. */
function stripOeHeader(report: Uint8Array): Uint8Array {
  if (report.length < 16) throw badRequest(`report: ${report.length} bytes, shorter than the 16-byte Open Enclave header`, 'InvalidQuote');
  const version = readU32LE(report, 0);
  const type = readU32LE(report, 4);
  const size = readU32LE(report, 8) + readU32LE(report, 12) * 0x100000000;
  if (version !== 1 || type !== 2) throw badRequest(`report: Open Enclave header version ${version} type ${type}, expected version 1 type 2 (remote)`, 'InvalidQuote');
  if (size !== report.length - 16) throw badRequest(`report: Open Enclave header says ${size} bytes of quote, ${report.length - 16} follow`, 'InvalidQuote');
  return report.subarray(16);
}

const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/**
 * One attestation: quote verification (src/dcap), evidence binding, policy (src/policy), token. The HTTP route
 * only parses and audits; the benchmark's in-process anchor calls this directly.
 */
export class Attester {
  constructor(private readonly d: AttesterDeps) {}

  async attest(req: AttestRequest): Promise<AttestOutcome> {
    const audit: AuditFields = {
      attestationType: req.type, mrEnclave: null, mrSigner: null, tcbStatus: null, decision: 'error',
      policyHash: null, tokenId: null, simulated: false, reason: null,
    };
    try {
      return await this.run(req, audit);
    } catch (e) {
      const err = e instanceof AttestationError ? e
        : isConfkubeError(e) ? new AttestationError(400, 'InvalidQuote', `${e.code}: ${e.message}`, e.code)
        : new AttestationError(400, 'InvalidQuote', `quote: ${(e as Error).message}`);
      audit.reason = err.message;
      return { ok: false, error: err, audit };
    }
  }

  private async run(req: AttestRequest, audit: AuditFields): Promise<AttestOutcome> {
    const quote = req.type === 'OpenEnclave' ? stripOeHeader(req.evidence) : req.evidence;
    const parsed = parseQuote(quote);
    if (!parsed.report) throw badRequest('quote: not an SGX enclave quote (TDX quotes go to /attest/TdxVm, not served)', 'InvalidQuote');
    audit.mrEnclave = toHex(parsed.report.mrEnclave);
    audit.mrSigner = toHex(parsed.report.mrSigner);
    const set = await this.d.collateral.forQuote(parsed);
    audit.simulated = set.simulated;
    const now = this.d.now();
    // A token issuer fails closed on expired or not-yet-valid collateral (docs/attestation.md §Collateral freshness): the collateral cache
    // refreshes ahead of nextUpdate, so an expired set means the source is stale, not that the quote is fine.
    const verdict = this.d.verifier.verify(parsed, set.collateral, { now: Math.floor(this.d.verifyAt() / 1000), trustAnchors: set.anchors, strict: true });
    audit.tcbStatus = verdict.status;
    audit.advisoryIds = verdict.advisoryIds;
    if (!verdict.ok || !verdict.report) {
      audit.decision = 'deny';
      const first = verdict.errors[0];
      throw new AttestationError(400, 'QuoteVerificationFailed', `quote verification failed: ${first ? `${first.code}: ${first.message}` : 'no verdict'}`, first?.code ?? 'ERR_QUOTE_VERIFICATION');
    }
    const report = verdict.report;
    // SHA-256(runtimeData) must equal REPORTDATA[0..32] (docs/attestation.md §Evidence binding); initTimeData binds to CONFIGID[0..32].
    if (req.runtime && !bytesEqual(sha256(req.runtime.data), report.reportData.subarray(0, 32))) {
      audit.decision = 'deny';
      throw badRequest('SuppliedRuntimeDataDigest does not match RuntimeData Digest in quote: SHA-256(runtimeData) differs from report_data[0..32]', 'RuntimeDataMismatch');
    }
    if (req.initTime && !bytesEqual(sha256(req.initTime.data), report.configId.subarray(0, 32))) {
      audit.decision = 'deny';
      throw badRequest('SHA-256(initTimeData) differs from CONFIGID[0..32] of the quote', 'InitTimeDataMismatch');
    }
    const claims = sgxClaims(report, verdict, {
      ...(req.runtime ? { runtime: req.runtime } : {}),
      ...(req.initTime ? { initTime: req.initTime } : {}),
      collateral: collateralClaim(quote, set.hashes),
      simulated: set.simulated && this.d.simulationEnabled,
    });
    const draft = req.draftPolicy !== undefined;
    let outcome: PolicyOutcome;
    let signer: Record<string, unknown> | null = null;
    if (draft) {
      const hash = policyHash(req.draftPolicy!);
      audit.policyHash = hash;
      claims['x-ms-policy-hash'] = hash;
      const r = await this.d.drafts.run(req.draftPolicy!, claims);
      if ('compileError' in r) throw badRequest(`draftPolicyForAttestation: ${r.compileError}`, 'InvalidPolicy');
      outcome = r.outcome;
    } else {
      const p = this.d.policies.get(req.type);
      signer = p.signer;
      audit.policyHash = p.hash;
      claims['x-ms-policy-hash'] = p.hash;
      try {
        outcome = p.compiled.evaluate(claims, this.d.budget);
      } catch (e) {
        throw badRequest(`policy evaluation failed: ${(e as Error).message}`, 'PolicyEvaluationError');
      }
    }
    if (outcome.exhausted) {
      audit.decision = 'deny';
      throw new AttestationError(400, 'PolicyEvaluationError', `${draft ? 'draftPolicyForAttestation' : 'policy'}: ${outcome.reason ?? 'evaluation budget exhausted'}`, 'ERR_POLICY_BUDGET');
    }
    if (!outcome.permit) {
      audit.decision = 'deny';
      throw badRequest(`attestation denied by policy${outcome.reason ? `: ${outcome.reason}` : ''}`, 'PolicyDenied');
    }
    const issued: ClaimMap = {};
    for (const [k, v] of Object.entries(outcome.issued)) if (!isReservedClaim(k)) issued[k] = v;
    const jti = newTokenId();
    const body: ClaimMap = {
      ...issued,
      ...claims,
      ...legacyServiceClaims(claims),
      'x-ms-policy': issued,
      ...(signer ? { 'x-ms-policy-signer': signer } : {}),
      ...timeClaims(now, ATTESTATION_TOKEN_LIFETIME_S),
      iss: this.d.baseUrl,
      jti,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
    };
    const unsigned = draft || req.sign === false;
    const key = unsigned ? null : this.d.keyring.active();
    if (!key && !unsigned) throw new AttestationError(503, 'ServiceUnavailable', 'no active signing key');
    const token = req.sign === false ? '' : draft ? unsecuredToken(body) : await signToken(key!, this.d.baseUrl, body);
    audit.decision = 'permit';
    audit.tokenId = jti;
    return { ok: true, token, claims: body, audit };
  }
}
