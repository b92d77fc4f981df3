/**
 * The store: one interface, two backends (SQLite embedded, PostgreSQL shared by replicas). Issue 6 item 3:
 * signing keys, policies with their history, policy-management certificates, collateral with its raw bytes,
 * and an audit log of every decision. All times are milliseconds since the epoch.
 */

export interface SigningKeyRecord {
  kid: string;
  /** The PKCS#8 private key sealed by a KeyProtector (sealed-key.ts); the store refuses a plaintext key. */
  sealedPrivateKey: string;
  certificatePem: string;
  createdAt: number;
  /** From this time the key signs (a rotated-in key is published before it signs). */
  activeFrom: number;
  /** From this time the key no longer signs; it stays published while tokens it signed can still be valid. */
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
  /** Who asked, for key management: `admin:<8 hex>` (docs/keyrelease.md §Audit). Absent on attestations. */
  actor?: string | null;
  /** The release key version a key release or key-management record is about. */
  keyVersion?: string | null;
  /** Intel security advisories (`INTEL-SA-NNNNN`) the verdict named for the platform and QE, sorted; null when none were known. */
  advisoryIds?: string[] | null;
}

/** Which audit records: attestations (`SgxEnclave`, …), key releases (`keyrelease/<name>`), policy management (`management/…`). */
export type AuditKind = 'attestation' | 'keyrelease' | 'management';

/** Counts of audit records per time bucket × decision × TCB status (docs/dashboard.md §Aggregation). */
export interface AuditAggregateQuery {
  /** Records with `from <= time < to` (ms); buckets start at `from`. */
  from: number;
  to: number;
  bucketMs: number;
  kind?: AuditKind;
}

export interface AuditBucketCount {
  /** Start of the bucket (ms): `from + k × bucketMs`. */
  bucket: number;
  decision: AuditRecord['decision'];
  tcbStatus: string | null;
  count: number;
}

/** Attestations per set of advisories and enclave within a time range. */
export interface AdvisoryCount {
  advisoryIds: string[];
  mrEnclave: string | null;
  count: number;
  lastSeen: number;
}

export interface AuditQuery {
  /** Records with `time >= since` (ms). */
  since?: number;
  /** At most this many, newest first. */
  limit?: number;
  tokenId?: string;
  /** Paging: only records with `id < before` (the last id of the previous page). */
  before?: number;
  kind?: AuditKind;
}

/** A named key of the key store (docs/keyrelease.md §Key store); its secrets live in its versions. */
export interface ReleaseKeyRecord {
  name: string;
  createdAt: number;
  createdBy: string;
  /** Days a deleted key stays recoverable before it is purged. */
  retentionDays: number;
  /** Set while the key is deleted (recoverable until `purgeAt`). */
  deletedAt: number | null;
  purgeAt: number | null;
}

/** One version of a release key: its secret (sealed, the name and version as AAD) and its release policy. */
export interface ReleaseKeyVersionRecord {
  name: string;
  /** Opaque (32 hex digits), chosen by the caller. */
  version: string;
  /** 1, 2, 3… per key, assigned by the store: the highest is the current version. */
  seq: number;
  sealedSecret: string;
  /** The release policy as JSON text (Azure SKR policy with confkube's `confkube` section). */
  policy: string;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export type NewReleaseKeyVersion = Omit<ReleaseKeyVersionRecord, 'seq'>;

/**
 * The key store (docs/keyrelease.md §Key store). Deleting is soft: a deleted key keeps its versions until
 * `purgeAt`, is never released, and can be recovered until then; `purgeReleaseKeys` removes what is due.
 */
export interface ReleaseKeyStore {
  /** A new key with its first version; ERR_STORE_CONFLICT if the name exists (deleted or not). */
  createReleaseKey(k: ReleaseKeyRecord, first: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord>;
  /** A new current version; ERR_STORE_CONFLICT if the key does not exist, is deleted, or has that version. */
  addReleaseKeyVersion(v: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord>;
  getReleaseKey(name: string): Promise<ReleaseKeyRecord | null>;
  /** All keys, deleted ones included, by name. */
  listReleaseKeys(): Promise<ReleaseKeyRecord[]>;
  /** Newest first. */
  listReleaseKeyVersions(name: string): Promise<ReleaseKeyVersionRecord[]>;
  /** A version (null: the current one) with its key, in one read; null if either does not exist. */
  getReleaseKeyVersion(name: string, version: string | null): Promise<{ key: ReleaseKeyRecord; version: ReleaseKeyVersionRecord } | null>;
  /** False if the version does not exist or its key is deleted. */
  setReleaseKeyVersionEnabled(name: string, version: string, enabled: boolean, at: number): Promise<boolean>;
  /** Soft delete; false if the key does not exist or is already deleted. */
  deleteReleaseKey(name: string, at: number, purgeAt: number): Promise<boolean>;
  /** Undeletes a key deleted and not yet due for purge at `now`; false otherwise. */
  recoverReleaseKey(name: string, now: number): Promise<boolean>;
  /** Removes deleted keys (and their versions) whose `purgeAt` is at or before `now`; returns how many. */
  purgeReleaseKeys(now: number): Promise<number>;
}

export interface Store extends ReleaseKeyStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Idempotent; safe when several processes start at once. */
  migrate(): Promise<void>;
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(k: SigningKeyRecord): Promise<void>;
  /**
   * Adds K only if no key is live (not retired), deciding in one transaction under a lock, so replicas that
   * start together on an empty database create exactly one key between them. True if K was added.
   */
  addFirstSigningKey(k: SigningKeyRecord): Promise<boolean>;
  retireSigningKey(kid: string, at: number): Promise<void>;
  /** Replaces a key's sealed private key if it still is FROM (re-sealing a legacy plaintext row); true if replaced. */
  resealSigningKey(kid: string, from: string, to: string): Promise<boolean>;
  /** A store-wide setting (e.g. `simulation`), or null. */
  getSetting(name: string): Promise<string | null>;
  putSetting(name: string, value: string): Promise<void>;
  /** Whether any audit record is of a simulated attestation (a store written before settings existed). */
  hasSimulatedAudit(): Promise<boolean>;
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
  /** Grouped in the database, never in memory: one index range scan (docs/dashboard.md §Aggregation). */
  aggregateAudit(q: AuditAggregateQuery): Promise<AuditBucketCount[]>;
  /** Attestations that named advisories, grouped by advisory set and enclave, in `from <= time < to`. */
  auditAdvisories(q: { from: number; to: number }): Promise<AdvisoryCount[]>;
  close(): Promise<void>;
}
