/**
 * PostgreSQL schema, one entry per version; `confkube_schema` records which have been applied. Tables carry a
 * `confkube_` prefix so the store can share a database with other applications. Append; never edit an applied one.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE confkube_signing_keys (
    kid TEXT PRIMARY KEY,
    private_key_pem TEXT NOT NULL,
    certificate_pem TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    active_from BIGINT NOT NULL,
    retired_at BIGINT
  );
  CREATE TABLE confkube_policies (
    attestation_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    text TEXT NOT NULL,
    jws TEXT NOT NULL,
    hash TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    set_by TEXT NOT NULL,
    is_reset BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (attestation_type, version)
  );
  CREATE TABLE confkube_policy_certificates (
    thumbprint TEXT PRIMARY KEY,
    certificate_pem TEXT NOT NULL,
    added_at BIGINT NOT NULL
  );
  CREATE TABLE confkube_collateral (
    key TEXT PRIMARY KEY,
    body BYTEA NOT NULL,
    issuer_chain TEXT,
    fetched_at BIGINT NOT NULL,
    next_update BIGINT,
    etag TEXT
  );
  CREATE TABLE confkube_audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time BIGINT NOT NULL,
    client_address TEXT NOT NULL,
    attestation_type TEXT NOT NULL,
    mr_enclave TEXT,
    mr_signer TEXT,
    tcb_status TEXT,
    decision TEXT NOT NULL CHECK (decision IN ('permit', 'deny', 'error')),
    policy_hash TEXT,
    token_id TEXT,
    simulated BOOLEAN NOT NULL,
    reason TEXT
  );
  CREATE INDEX confkube_audit_time ON confkube_audit (time);
  CREATE INDEX confkube_audit_token_id ON confkube_audit (token_id);
  CREATE TABLE confkube_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
  INSERT INTO confkube_counters (name, value) VALUES ('policy_version', 0);
  `,
  // Private keys are stored sealed (sealed-key.ts); legacy plaintext rows are re-sealed by the keyring at start.
  `
  ALTER TABLE confkube_signing_keys RENAME COLUMN private_key_pem TO sealed_private_key;
  CREATE TABLE confkube_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  // The key store (docs/keyrelease.md §Key store): secrets sealed under the KEK; audit names the actor and key version.
  `
  CREATE TABLE confkube_release_keys (
    name TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    deleted_at BIGINT,
    purge_at BIGINT
  );
  CREATE TABLE confkube_release_key_versions (
    name TEXT NOT NULL REFERENCES confkube_release_keys (name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed_secret TEXT NOT NULL,
    policy TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (name, version),
    UNIQUE (name, seq)
  );
  ALTER TABLE confkube_audit ADD COLUMN actor TEXT;
  ALTER TABLE confkube_audit ADD COLUMN key_version TEXT;
  `,
  // The dashboard (docs/dashboard.md §Aggregation): advisories per attestation, and one index that holds every
  // column an aggregation over a time range reads, so it is answered from the index alone.
  `
  ALTER TABLE confkube_audit ADD COLUMN advisory_ids TEXT;
  CREATE INDEX confkube_audit_time_outcome ON confkube_audit (time, attestation_type, decision, tcb_status);
  `,
];

/**
 * The advisory-lock key that serialises migrations between processes ("confkube" in ASCII as a bigint).
 * PostgreSQL docs §13.3.5: advisory locks are the application's own; a transaction-level lock is released at commit.
 */
export const MIGRATION_LOCK_KEY = '7165066918338323045';

/** Serialises the "is there a live signing key yet?" check and the insert between replicas ("confkube" + 1). */
export const SIGNING_KEY_LOCK_KEY = '7165066918338323046';
