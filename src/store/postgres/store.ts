import pg from 'pg';
import type {
  AdvisoryCount, AuditAggregateQuery, AuditBucketCount, AuditQuery, AuditRecord, CollateralRecord, NewReleaseKeyVersion, PolicyCertRecord, PolicyRecord, ReleaseKeyRecord,
  ReleaseKeyVersionRecord, SigningKeyRecord, Store,
} from '../types.js';
import { StoreConflictError, StoreQueryError, StoreUnavailableError } from '../errors.js';
import {
  asBuffer, auditFromRow, checkAudit, checkCollateral, checkLimit, checkPolicy, checkPolicyCert, checkSealed, checkSigningKey,
  checkString, checkTime, collateralFromRow, DEFAULT_HISTORY_LIMIT, joinAdvisories, policyCertFromRow, policyFromRow, signingKeyFromRow, type Row,
  checkReleaseKey, checkReleaseKeyVersion, releaseKeyAndVersionFromRow, releaseKeyFromRow, releaseKeyVersionFromRow,
} from '../rows.js';
import { MIGRATION_LOCK_KEY, POSTGRES_MIGRATIONS, SIGNING_KEY_LOCK_KEY } from './schema.js';
import { translatePgError } from './errors.js';
import { advisoriesSql, advisoryFromRow, aggregateSql, auditPageSql, bucketFromRow } from '../audit-sql.js';

type Queryable = pg.Pool | pg.PoolClient;

/** A dead server must become ERR_STORE_UNAVAILABLE, not a hang: connecting gives up after this long. */
const CONNECT_TIMEOUT_MS = 5_000;

// Named statements are parsed once per connection: these run on every attestation and every policy poll.
const POLICY_VERSION = { name: 'confkube_policy_version', text: "SELECT value FROM confkube_counters WHERE name = 'policy_version'" };
const INSERT_AUDIT = {
  name: 'confkube_insert_audit',
  text: `INSERT INTO confkube_audit (time, client_address, attestation_type, mr_enclave, mr_signer, tcb_status, decision, policy_hash, token_id, simulated, reason, actor, key_version, advisory_ids)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
};
/** A release key's row and one of its versions', prefixed so neither shadows the other (rows.ts releaseKeyAndVersionFromRow). */
const KEY_AND_VERSION = `SELECT k.name AS k_name, k.created_at AS k_created_at, k.created_by AS k_created_by, k.retention_days AS k_retention_days,
  k.deleted_at AS k_deleted_at, k.purge_at AS k_purge_at, v.name AS v_name, v.version AS v_version, v.seq AS v_seq, v.sealed_secret AS v_sealed_secret,
  v.policy AS v_policy, v.enabled AS v_enabled, v.created_at AS v_created_at, v.updated_at AS v_updated_at
  FROM confkube_release_keys k JOIN confkube_release_key_versions v ON v.name = k.name`;
const CURRENT_KEY_VERSION = { name: 'confkube_current_key_version', text: `${KEY_AND_VERSION} WHERE k.name = $1 ORDER BY v.seq DESC LIMIT 1` };
const KEY_VERSION = { name: 'confkube_key_version', text: `${KEY_AND_VERSION} WHERE k.name = $1 AND v.version = $2` };

/**
 * The shared store: a connection pool on one PostgreSQL database that several service replicas use at once.
 * Each write is one transaction; a call resolves after COMMIT returned, which with synchronous_commit on
 * (forced if the server default is off) means the WAL record is flushed (PostgreSQL docs §19.5.1).
 * Policy writes all update one counter row first: that row lock orders them, numbers versions without gaps
 * or races, and `policyVersion` is a single-row primary-key read.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private closed = false;

  private constructor(private readonly pool: pg.Pool, private readonly name: string) {}

  static async open(connectionString: string, redacted: string): Promise<PostgresStore> {
    let pool = PostgresStore.newPool(connectionString, redacted);
    if ((await PostgresStore.synchronousCommit(pool, redacted)) === 'off') {
      // The audit log must be durable when appendAudit resolves (issue 6): the store never accepts an
      // asynchronous commit, whatever the server's or database's default. libpq `options` set it per session.
      await pool.end();
      pool = PostgresStore.newPool(connectionString, redacted, '-c synchronous_commit=on');
      if ((await PostgresStore.synchronousCommit(pool, redacted)) === 'off') {
        await pool.end();
        throw new StoreQueryError(`PostgreSQL store ${redacted}: synchronous_commit stays off for the store's sessions (an options parameter in the URL?); audit records would not be durable`);
      }
    }
    return new PostgresStore(pool, redacted);
  }

  private static newPool(connectionString: string, redacted: string, options?: string): pg.Pool {
    let pool: pg.Pool;
    try {
      pool = new pg.Pool({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, max: 10, ...(options ? { options } : {}) });
    } catch (e) {
      throw new StoreUnavailableError(`PostgreSQL store ${redacted} cannot be configured: ${(e as Error).message}`);
    }
    // An idle connection dropped by the server emits 'error' on the pool; the next query reports it, typed.
    pool.on('error', () => undefined);
    return pool;
  }

  /** The session's synchronous_commit; also the first contact, so an unreachable server fails here, typed. */
  private static async synchronousCommit(pool: pg.Pool, redacted: string): Promise<string> {
    try {
      return ((await pool.query('SHOW synchronous_commit')).rows[0] as { synchronous_commit: string }).synchronous_commit;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw translatePgError(e, `${redacted} open`);
    }
  }

  /** Calls in progress: close() lets them finish (an accepted audit append is written, not dropped). */
  private readonly inflight = new Set<Promise<unknown>>();

  private track<T>(where: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`PostgreSQL store ${this.name} is closed (${where})`));
    const p = run();
    const settled = p.then(() => undefined, () => undefined);
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    return p;
  }

  /** One statement, on the pool (its own transaction) or on a transaction's connection. */
  private q(where: string, c: Queryable, text: string | pg.QueryConfig, values?: unknown[]): Promise<Row[]> {
    const run = async (): Promise<Row[]> => {
      try {
        const r = typeof text === 'string' ? await c.query(text, values) : await c.query({ ...text, values: values ?? [] });
        return r.rows as Row[];
      } catch (e) {
        throw translatePgError(e, `${this.name} ${where}`);
      }
    };
    return c === this.pool ? this.track(where, run) : run();
  }

  /** One transaction on one pooled connection; rolled back on any error. */
  private tx<T>(where: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.track(where, () => this.txNow(where, fn));
  }

  private async txNow<T>(where: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw translatePgError(e, `${this.name} ${where}`);
    }
    let broken: Error | undefined;
    try {
      await this.q(where, client, 'BEGIN');
      const out = await fn(client);
      await this.q(where, client, 'COMMIT');
      return out;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch (re) {
        broken = re as Error; // the connection is gone: do not return it to the pool
      }
      throw e;
    } finally {
      client.release(broken);
    }
  }

  private async bumpPolicyVersion(c: pg.PoolClient, where: string): Promise<void> {
    await this.q(where, c, "UPDATE confkube_counters SET value = value + 1 WHERE name = 'policy_version'");
  }

  async migrate(): Promise<void> {
    // CREATE TABLE IF NOT EXISTS is not safe against a concurrent creator (duplicate pg_type rows), so the
    // whole check-and-apply runs under a transaction-level advisory lock: other processes wait, then see it done.
    await this.tx('migrate', async (c) => {
      await this.q('migrate', c, 'SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await this.q('migrate', c, 'CREATE TABLE IF NOT EXISTS confkube_schema (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const applied = Number((await this.q('migrate', c, 'SELECT coalesce(max(version), 0) AS v FROM confkube_schema'))[0]!.v);
      if (applied > POSTGRES_MIGRATIONS.length) {
        throw new StoreQueryError(`PostgreSQL store ${this.name} has schema version ${applied}, newer than this confkube knows (${POSTGRES_MIGRATIONS.length})`);
      }
      for (let v = applied; v < POSTGRES_MIGRATIONS.length; v++) {
        await this.q('migrate', c, POSTGRES_MIGRATIONS[v]!);
        await this.q('migrate', c, 'INSERT INTO confkube_schema (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
      }
    });
  }

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    return (await this.q('listSigningKeys', this.pool, 'SELECT * FROM confkube_signing_keys ORDER BY active_from, created_at, kid')).map(signingKeyFromRow);
  }

  async addSigningKey(k: SigningKeyRecord): Promise<void> {
    checkSigningKey(k);
    await this.insertSigningKey('addSigningKey', this.pool, k);
  }

  private async insertSigningKey(where: string, c: Queryable, k: SigningKeyRecord): Promise<void> {
    try {
      await this.q(where, c,
        'INSERT INTO confkube_signing_keys (kid, sealed_private_key, certificate_pem, created_at, active_from, retired_at) VALUES ($1, $2, $3, $4, $5, $6)',
        [k.kid, k.sealedPrivateKey, k.certificatePem, k.createdAt, k.activeFrom, k.retiredAt]);
    } catch (e) {
      if (e instanceof StoreConflictError) throw new StoreConflictError(`signing key ${k.kid} already exists`);
      throw e;
    }
  }

  async addFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    checkSigningKey(k);
    // Under READ COMMITTED two "insert if none" transactions both see none; the advisory lock makes the second
    // wait for the first's commit, then see its key (PostgreSQL docs §13.3.5).
    return this.tx('addFirstSigningKey', async (c) => {
      await this.q('addFirstSigningKey', c, 'SELECT pg_advisory_xact_lock($1::bigint)', [SIGNING_KEY_LOCK_KEY]);
      if ((await this.q('addFirstSigningKey', c, 'SELECT 1 FROM confkube_signing_keys WHERE retired_at IS NULL LIMIT 1')).length > 0) return false;
      await this.insertSigningKey('addFirstSigningKey', c, k);
      return true;
    });
  }

  async resealSigningKey(kid: string, from: string, to: string): Promise<boolean> {
    checkString('signing key kid', kid);
    checkString(`signing key ${kid} old private key`, from);
    checkSealed(`signing key ${kid} sealedPrivateKey`, to);
    const rows = await this.q('resealSigningKey', this.pool, 'UPDATE confkube_signing_keys SET sealed_private_key = $1 WHERE kid = $2 AND sealed_private_key = $3 RETURNING kid', [to, kid, from]);
    // The old row version stays in the table file until rewritten: VACUUM FULL writes a new file without it.
    if (rows.length > 0) await this.q('resealSigningKey', this.pool, 'VACUUM FULL confkube_signing_keys');
    return rows.length > 0;
  }

  async getSetting(name: string): Promise<string | null> {
    checkString('setting name', name);
    const r = (await this.q('getSetting', this.pool, 'SELECT value FROM confkube_settings WHERE name = $1', [name]))[0];
    return r === undefined ? null : (r.value as string);
  }

  async putSetting(name: string, value: string): Promise<void> {
    checkString('setting name', name);
    checkString(`setting ${name}`, value);
    await this.q('putSetting', this.pool, 'INSERT INTO confkube_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  async hasSimulatedAudit(): Promise<boolean> {
    return (await this.q('hasSimulatedAudit', this.pool, 'SELECT 1 FROM confkube_audit WHERE simulated LIMIT 1')).length > 0;
  }

  async retireSigningKey(kid: string, at: number): Promise<void> {
    checkString('signing key kid', kid);
    checkTime(`signing key ${kid} retiredAt`, at);
    const rows = await this.q('retireSigningKey', this.pool, 'UPDATE confkube_signing_keys SET retired_at = $1 WHERE kid = $2 RETURNING kid', [at, kid]);
    if (rows.length === 0) throw new StoreConflictError(`signing key ${kid} does not exist`);
  }

  async getPolicy(attestationType: string): Promise<PolicyRecord | null> {
    checkString('policy attestationType', attestationType);
    const rows = await this.q('getPolicy', this.pool, 'SELECT * FROM confkube_policies WHERE attestation_type = $1 ORDER BY version DESC LIMIT 1', [attestationType]);
    const r = rows[0];
    return r === undefined || r.is_reset === true ? null : policyFromRow(r);
  }

  private async appendPolicy(c: pg.PoolClient, where: string, p: Omit<PolicyRecord, 'version'>, reset: boolean): Promise<number> {
    await this.bumpPolicyVersion(c, where); // row lock first: serialises version numbering across replicas
    const rows = await this.q(where, c,
      `INSERT INTO confkube_policies (attestation_type, version, text, jws, hash, set_at, set_by, is_reset)
       SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7 FROM confkube_policies WHERE attestation_type = $1 RETURNING version`,
      [p.attestationType, p.text, p.jws, p.hash, p.setAt, p.setBy, reset]);
    return Number(rows[0]!.version);
  }

  async setPolicy(p: Omit<PolicyRecord, 'version'>): Promise<PolicyRecord> {
    checkPolicy(p);
    const version = await this.tx('setPolicy', (c) => this.appendPolicy(c, 'setPolicy', p, false));
    return { attestationType: p.attestationType, text: p.text, jws: p.jws, hash: p.hash, version, setAt: p.setAt, setBy: p.setBy };
  }

  async resetPolicy(attestationType: string, setBy: string): Promise<void> {
    checkString('policy attestationType', attestationType);
    checkString('policy setBy', setBy);
    await this.tx('resetPolicy', (c) => this.appendPolicy(c, 'resetPolicy', { attestationType, text: '', jws: '', hash: '', setAt: Date.now(), setBy }, true));
  }

  async policyHistory(attestationType: string, limit?: number): Promise<PolicyRecord[]> {
    checkString('policy attestationType', attestationType);
    const n = checkLimit('policy history', limit, DEFAULT_HISTORY_LIMIT);
    return (await this.q('policyHistory', this.pool, 'SELECT * FROM confkube_policies WHERE attestation_type = $1 ORDER BY version DESC LIMIT $2', [attestationType, n])).map(policyFromRow);
  }

  async policyVersion(): Promise<number> {
    return Number((await this.q('policyVersion', this.pool, POLICY_VERSION))[0]!.value);
  }

  async listPolicyCertificates(): Promise<PolicyCertRecord[]> {
    return (await this.q('listPolicyCertificates', this.pool, 'SELECT * FROM confkube_policy_certificates ORDER BY added_at, thumbprint')).map(policyCertFromRow);
  }

  async addPolicyCertificate(cert: PolicyCertRecord): Promise<void> {
    checkPolicyCert(cert);
    await this.tx('addPolicyCertificate', async (c) => {
      await this.bumpPolicyVersion(c, 'addPolicyCertificate');
      // Adding a registered certificate again keeps the first registration (MAA: add is idempotent).
      await this.q('addPolicyCertificate', c,
        'INSERT INTO confkube_policy_certificates (thumbprint, certificate_pem, added_at) VALUES ($1, $2, $3) ON CONFLICT (thumbprint) DO NOTHING',
        [cert.thumbprint, cert.certificatePem, cert.addedAt]);
    });
  }

  async removePolicyCertificate(thumbprint: string): Promise<boolean> {
    checkString('policy certificate thumbprint', thumbprint);
    return this.tx('removePolicyCertificate', async (c) => {
      const rows = await this.q('removePolicyCertificate', c, 'DELETE FROM confkube_policy_certificates WHERE thumbprint = $1 RETURNING thumbprint', [thumbprint]);
      if (rows.length > 0) await this.bumpPolicyVersion(c, 'removePolicyCertificate');
      return rows.length > 0;
    });
  }

  async getCollateral(key: string): Promise<CollateralRecord | null> {
    checkString('collateral key', key);
    const r = (await this.q('getCollateral', this.pool, 'SELECT * FROM confkube_collateral WHERE key = $1', [key]))[0];
    return r === undefined ? null : collateralFromRow(r);
  }

  async putCollateral(c: CollateralRecord): Promise<void> {
    checkCollateral(c);
    await this.q('putCollateral', this.pool,
      `INSERT INTO confkube_collateral (key, body, issuer_chain, fetched_at, next_update, etag) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (key) DO UPDATE SET body = excluded.body, issuer_chain = excluded.issuer_chain, fetched_at = excluded.fetched_at,
         next_update = excluded.next_update, etag = excluded.etag`,
      [c.key, asBuffer(c.body), c.issuerChain, c.fetchedAt, c.nextUpdate, c.etag ?? null]);
  }

  async listCollateral(): Promise<CollateralRecord[]> {
    return (await this.q('listCollateral', this.pool, 'SELECT * FROM confkube_collateral ORDER BY key')).map(collateralFromRow);
  }

  async appendAudit(r: AuditRecord): Promise<number> {
    checkAudit(r);
    // A single statement outside BEGIN is its own transaction: it has committed when the result arrives.
    const rows = await this.q('appendAudit', this.pool, INSERT_AUDIT,
      [r.time, r.clientAddress, r.attestationType, r.mrEnclave, r.mrSigner, r.tcbStatus, r.decision, r.policyHash, r.tokenId, r.simulated, r.reason ?? null, r.actor ?? null, r.keyVersion ?? null, joinAdvisories(r.advisoryIds)]);
    return Number(rows[0]!.id);
  }

  async queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    const args: unknown[] = [];
    const sql = auditPageSql('confkube_audit', q, (v) => `$${args.push(v)}`);
    return (await this.q('queryAudit', this.pool, sql, args)).map(auditFromRow);
  }

  // The key store (types.ts ReleaseKeyStore). Versions of one key are numbered under its row lock (FOR UPDATE).

  async createReleaseKey(k: ReleaseKeyRecord, first: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord> {
    checkReleaseKey(k);
    checkReleaseKeyVersion(first);
    return this.tx('createReleaseKey', async (c) => {
      const inserted = await this.q('createReleaseKey', c,
        `INSERT INTO confkube_release_keys (name, created_at, created_by, retention_days, deleted_at, purge_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO NOTHING RETURNING name`, [k.name, k.createdAt, k.createdBy, k.retentionDays, k.deletedAt, k.purgeAt]);
      if (inserted.length === 0) throw new StoreConflictError(`release key ${k.name} already exists`);
      return this.insertKeyVersion(c, { ...first, name: k.name }, 1);
    });
  }

  private async insertKeyVersion(c: pg.PoolClient, v: NewReleaseKeyVersion, seq: number): Promise<ReleaseKeyVersionRecord> {
    const rows = await this.q('addReleaseKeyVersion', c,
      `INSERT INTO confkube_release_key_versions (name, version, seq, sealed_secret, policy, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (name, version) DO NOTHING RETURNING version`, [v.name, v.version, seq, v.sealedSecret, v.policy, v.enabled, v.createdAt, v.updatedAt]);
    if (rows.length === 0) throw new StoreConflictError(`release key ${v.name} already has version ${v.version}`);
    return { ...v, seq };
  }

  async addReleaseKeyVersion(v: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord> {
    checkReleaseKeyVersion(v);
    return this.tx('addReleaseKeyVersion', async (c) => {
      const k = (await this.q('addReleaseKeyVersion', c, 'SELECT deleted_at FROM confkube_release_keys WHERE name = $1 FOR UPDATE', [v.name]))[0];
      if (k === undefined) throw new StoreConflictError(`release key ${v.name} does not exist`);
      if (k.deleted_at !== null) throw new StoreConflictError(`release key ${v.name} is deleted`);
      const seq = Number((await this.q('addReleaseKeyVersion', c, 'SELECT coalesce(max(seq), 0) + 1 AS s FROM confkube_release_key_versions WHERE name = $1', [v.name]))[0]!.s);
      return this.insertKeyVersion(c, v, seq);
    });
  }

  async getReleaseKey(name: string): Promise<ReleaseKeyRecord | null> {
    checkString('release key name', name);
    const r = (await this.q('getReleaseKey', this.pool, 'SELECT * FROM confkube_release_keys WHERE name = $1', [name]))[0];
    return r === undefined ? null : releaseKeyFromRow(r);
  }

  async listReleaseKeys(): Promise<ReleaseKeyRecord[]> {
    return (await this.q('listReleaseKeys', this.pool, 'SELECT * FROM confkube_release_keys ORDER BY name')).map(releaseKeyFromRow);
  }

  async listReleaseKeyVersions(name: string): Promise<ReleaseKeyVersionRecord[]> {
    checkString('release key name', name);
    return (await this.q('listReleaseKeyVersions', this.pool, 'SELECT * FROM confkube_release_key_versions WHERE name = $1 ORDER BY seq DESC', [name])).map(releaseKeyVersionFromRow);
  }

  async getReleaseKeyVersion(name: string, version: string | null): Promise<{ key: ReleaseKeyRecord; version: ReleaseKeyVersionRecord } | null> {
    checkString('release key name', name);
    checkString(`release key ${name} version`, version, true);
    const rows = version === null
      ? await this.q('getReleaseKeyVersion', this.pool, CURRENT_KEY_VERSION, [name])
      : await this.q('getReleaseKeyVersion', this.pool, KEY_VERSION, [name, version]);
    return rows[0] === undefined ? null : releaseKeyAndVersionFromRow(rows[0]);
  }

  async setReleaseKeyVersionEnabled(name: string, version: string, enabled: boolean, at: number): Promise<boolean> {
    checkString('release key name', name);
    checkString(`release key ${name} version`, version);
    checkTime(`release key ${name}/${version} updatedAt`, at);
    const rows = await this.q('setReleaseKeyVersionEnabled', this.pool,
      `UPDATE confkube_release_key_versions v SET enabled = $1, updated_at = $2 FROM confkube_release_keys k
       WHERE v.name = $3 AND v.version = $4 AND k.name = v.name AND k.deleted_at IS NULL RETURNING v.version`, [enabled, at, name, version]);
    return rows.length > 0;
  }

  async deleteReleaseKey(name: string, at: number, purgeAt: number): Promise<boolean> {
    checkString('release key name', name);
    checkTime(`release key ${name} deletedAt`, at);
    checkTime(`release key ${name} purgeAt`, purgeAt);
    return (await this.q('deleteReleaseKey', this.pool, 'UPDATE confkube_release_keys SET deleted_at = $1, purge_at = $2 WHERE name = $3 AND deleted_at IS NULL RETURNING name', [at, purgeAt, name])).length > 0;
  }

  async recoverReleaseKey(name: string, now: number): Promise<boolean> {
    checkString('release key name', name);
    checkTime('release key recovery time', now);
    return (await this.q('recoverReleaseKey', this.pool,
      'UPDATE confkube_release_keys SET deleted_at = NULL, purge_at = NULL WHERE name = $1 AND deleted_at IS NOT NULL AND purge_at > $2 RETURNING name', [name, now])).length > 0;
  }

  async purgeReleaseKeys(now: number): Promise<number> {
    checkTime('release key purge time', now);
    // Versions go with their key (ON DELETE CASCADE).
    return (await this.q('purgeReleaseKeys', this.pool, 'DELETE FROM confkube_release_keys WHERE deleted_at IS NOT NULL AND purge_at <= $1 RETURNING name', [now])).length;
  }
  async aggregateAudit(q: AuditAggregateQuery): Promise<AuditBucketCount[]> {
    const args: unknown[] = [];
    // Typed parameters: an untyped one in `time - $1` would be guessed as text.
    const sql = aggregateSql('confkube_audit', q, (v) => `$${args.push(v)}`, (p) => `${p}::bigint`);
    return (await this.q('aggregateAudit', this.pool, sql, args)).map(bucketFromRow);
  }

  async auditAdvisories(q: { from: number; to: number }): Promise<AdvisoryCount[]> {
    const args: unknown[] = [];
    const sql = advisoriesSql('confkube_audit', q, (v) => `$${args.push(v)}`);
    return (await this.q('auditAdvisories', this.pool, sql, args)).map(advisoryFromRow);
  }


  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.inflight);
    await this.pool.end();
  }
}
