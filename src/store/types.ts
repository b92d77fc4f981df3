/**
 * The store: one interface, two backends (SQLite embedded, PostgreSQL shared by replicas). Issue 6 item 3:
 * signing keys, policies with their history, policy-management certificates, collateral with its raw bytes,
 * and an audit log of every decision. All times are milliseconds since the epoch.
 */

export interface SigningKeyRecord {
  kid: string;
  privateKeyPem: string;
  certificatePem: string;
  createdAt: number;
  activeFrom: number;
  retiredAt: number | null;
}

/** A policy version. A reset is stored as a version with empty `text`, so history shows it; `getPolicy` then answers null. */
export interface PolicyRecord {
  attestationType: string;
  text: string;
  jws: string;
  hash: string;
  version: number;
  setAt: number;
  setBy: string;
}

export interface PolicyCertRecord {
  thumbprint: string;
  certificatePem: string;
  addedAt: number;
}

export interface CollateralRecord {
  /** e.g. 'tcb:00906ed50000', 'qe', 'pckcrl:processor', 'rootcacrl'. */
  key: string;
  /** Exact raw bytes: collateral is signed over them (docs/dcap.md §Signed JSON). */
  body: Uint8Array;
  issuerChain: string | null;
  fetchedAt: number;
  nextUpdate: number | null;
  etag?: string | null;
}

export interface AuditRecord {
  id?: number;
  time: number;
  clientAddress: string;
  attestationType: string;
  mrEnclave: string | null;
  mrSigner: string | null;
  tcbStatus: string | null;
  decision: 'permit' | 'deny' | 'error';
  policyHash: string | null;
  tokenId: string | null;
  simulated: boolean;
  reason?: string | null;
}

export interface AuditQuery {
  /** Records with `time >= since` (ms). */
  since?: number;
  /** At most this many, newest first. */
  limit?: number;
  tokenId?: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Idempotent; safe when several processes start at once. */
  migrate(): Promise<void>;
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(k: SigningKeyRecord): Promise<void>;
  retireSigningKey(kid: string, at: number): Promise<void>;
  getPolicy(attestationType: string): Promise<PolicyRecord | null>;
  /** Appends a new version (history is kept); the version number is assigned by the store. */
  setPolicy(p: Omit<PolicyRecord, 'version'>): Promise<PolicyRecord>;
  resetPolicy(attestationType: string, setBy: string): Promise<void>;
  /** Newest first. */
  policyHistory(attestationType: string, limit?: number): Promise<PolicyRecord[]>;
  /** Monotonic; changes on any policy or policy-certificate write. Cheap: other replicas poll it every ~250 ms. */
  policyVersion(): Promise<number>;
  listPolicyCertificates(): Promise<PolicyCertRecord[]>;
  addPolicyCertificate(c: PolicyCertRecord): Promise<void>;
  removePolicyCertificate(thumbprint: string): Promise<boolean>;
  getCollateral(key: string): Promise<CollateralRecord | null>;
  putCollateral(c: CollateralRecord): Promise<void>;
  listCollateral(): Promise<CollateralRecord[]>;
  /** Resolves with the record's id only when the record is durable (fsync'd / committed). */
  appendAudit(r: AuditRecord): Promise<number>;
  /** Newest first. */
  queryAudit(q: AuditQuery): Promise<AuditRecord[]>;
  close(): Promise<void>;
}
