/**
 * What the service needs from its collaborators. The store, the policy language and the verifier are
 * injected so the service is a thin shell (STYLE.md) and tests can run them at a fixed time.
 * The store shape is the subset of `src/store` Store the service uses (structurally compatible).
 */
export interface SigningKeyRecord { kid: string; privateKeyPem: string; certificatePem: string; createdAt: number; activeFrom: number; retiredAt: number | null }
export interface PolicyRecord { attestationType: string; text: string; jws: string; hash: string; version: number; setAt: number; setBy: string }
export interface PolicyCertRecord { thumbprint: string; certificatePem: string; addedAt: number }
export interface CollateralRecord { key: string; body: Uint8Array; issuerChain: string | null; fetchedAt: number; nextUpdate: number | null; etag?: string | null }
export interface AuditRecord {
  id?: number; time: number; clientAddress: string; attestationType: string; mrEnclave: string | null; mrSigner: string | null;
  tcbStatus: string | null; decision: 'permit' | 'deny' | 'error'; policyHash: string | null; tokenId: string | null; simulated: boolean; reason?: string | null;
}

export interface AttestationStore {
  readonly kind: 'sqlite' | 'postgres' | string;
  migrate(): Promise<void>;
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(k: SigningKeyRecord): Promise<void>;
  retireSigningKey(kid: string, at: number): Promise<void>;
  getPolicy(attestationType: string): Promise<PolicyRecord | null>;
  setPolicy(p: Omit<PolicyRecord, 'version'>): Promise<PolicyRecord>;
  resetPolicy(attestationType: string, setBy: string): Promise<void>;
  policyVersion(): Promise<number>;
  listPolicyCertificates(): Promise<PolicyCertRecord[]>;
  addPolicyCertificate(c: PolicyCertRecord): Promise<void>;
  removePolicyCertificate(thumbprint: string): Promise<boolean>;
  getCollateral(key: string): Promise<CollateralRecord | null>;
  putCollateral(c: CollateralRecord): Promise<void>;
  listCollateral(): Promise<CollateralRecord[]>;
  appendAudit(r: AuditRecord): Promise<number>;
  close(): Promise<void>;
}

/** Claims as the policy sees them: claim type → value (boolean, number, string, or JSON object). */
export type ClaimMap = Record<string, unknown>;

export interface PolicyOutcome {
  permit: boolean;
  /** Claims issued by `issuancerules`, by type (a multi-valued claim is an array). */
  issued: ClaimMap;
  reason?: string;
}

export interface CompiledPolicy {
  evaluate(incoming: ClaimMap): PolicyOutcome;
}

/** The policy language (src/policy), adapted: compile throws a ConfkubeError on a syntax error. */
export interface PolicyEngine {
  compile(text: string): CompiledPolicy;
  /** The default policy text per attestation type (MAA: P1 for SgxEnclave and OpenEnclave). */
  defaultPolicy(attestationType: string): string;
}
