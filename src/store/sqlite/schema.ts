/**
 * SQLite schema, one entry per version; `PRAGMA user_version` records how many have been applied.
 * Append new versions; never edit an applied one.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    active_from INTEGER NOT NULL,
    retired_at INTEGER
  );
  CREATE TABLE policies (
    attestation_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    text TEXT NOT NULL,
    jws TEXT NOT NULL,
    hash TEXT NOT NULL,
    set_at INTEGER NOT NULL,
    set_by TEXT NOT NULL,
    is_reset INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (attestation_type, version)
  );
  CREATE TABLE policy_certificates (
    thumbprint TEXT PRIMARY KEY,
    certificate_pem TEXT NOT NULL,
    added_at INTEGER NOT NULL
  );
  CREATE TABLE collateral (
    key TEXT PRIMARY KEY,
    body BLOB NOT NULL,
    issuer_chain TEXT,
    fetched_at INTEGER NOT NULL,
    next_update INTEGER,
    etag TEXT
  );
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    client_address TEXT NOT NULL,
    attestation_type TEXT NOT NULL,
    mr_enclave TEXT,
    mr_signer TEXT,
    tcb_status TEXT,
    decision TEXT NOT NULL CHECK (decision IN ('permit', 'deny', 'error')),
    policy_hash TEXT,
    token_id TEXT,
    simulated INTEGER NOT NULL,
    reason TEXT
  );
  CREATE INDEX audit_time ON audit (time);
  CREATE INDEX audit_token_id ON audit (token_id);
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters (name, value) VALUES ('policy_version', 0);
  `,
  // Private keys are stored sealed (sealed-key.ts); legacy plaintext rows are re-sealed by the keyring at start.
  `
  ALTER TABLE signing_keys RENAME COLUMN private_key_pem TO sealed_private_key;
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // The key store (docs/keyrelease.md §Key store): secrets sealed under the KEK; audit names the actor and key version.
  `
  CREATE TABLE release_keys (
    name TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    deleted_at INTEGER,
    purge_at INTEGER
  );
  CREATE TABLE release_key_versions (
    name TEXT NOT NULL REFERENCES release_keys (name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed_secret TEXT NOT NULL,
    policy TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, version),
    UNIQUE (name, seq)
  );
  ALTER TABLE audit ADD COLUMN actor TEXT;
  ALTER TABLE audit ADD COLUMN key_version TEXT;
  `,
  // The dashboard (docs/dashboard.md §Aggregation): advisories per attestation, and one index that holds every
  // column an aggregation over a time range reads, so it is answered from the index alone.
  `
  ALTER TABLE audit ADD COLUMN advisory_ids TEXT;
  CREATE INDEX audit_time_outcome ON audit (time, attestation_type, decision, tcb_status);
  `,
];
