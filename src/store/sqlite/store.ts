import Database from 'better-sqlite3';
import type {
  AdvisoryCount, AuditAggregateQuery, AuditBucketCount, AuditQuery, AuditRecord, CollateralRecord, NewReleaseKeyVersion, PolicyCertRecord, PolicyRecord, ReleaseKeyRecord,
  ReleaseKeyVersionRecord, SigningKeyRecord, Store,
} from '../types.js';
import { StoreConflictError, StoreQueryError, StoreUnavailableError } from '../errors.js';
import { ConfkubeError } from '../../lib/errors.js';
import {
  asBuffer, auditFromRow, checkAudit, checkCollateral, checkLimit, checkPolicy, checkPolicyCert, checkSealed, checkSigningKey,
  checkString, checkTime, collateralFromRow, joinAdvisories, DEFAULT_HISTORY_LIMIT, policyCertFromRow, policyFromRow, signingKeyFromRow, type Row,
  checkReleaseKey, checkReleaseKeyVersion, releaseKeyAndVersionFromRow, releaseKeyFromRow, releaseKeyVersionFromRow,
} from '../rows.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { advisoriesSql, advisoryFromRow, aggregateSql, auditPageSql, bucketFromRow } from '../audit-sql.js';
import { createPrivateFile, looseModes } from './files.js';

/** A release key's row and one of its versions', prefixed so neither shadows the other. */
const KEY_AND_VERSION = `SELECT k.name AS k_name, k.created_at AS k_created_at, k.created_by AS k_created_by, k.retention_days AS k_retention_days,
  k.deleted_at AS k_deleted_at, k.purge_at AS k_purge_at, v.name AS v_name, v.version AS v_version, v.seq AS v_seq, v.sealed_secret AS v_sealed_secret,
  v.policy AS v_policy, v.enabled AS v_enabled, v.created_at AS v_created_at, v.updated_at AS v_updated_at
  FROM release_keys k JOIN release_key_versions v ON v.name = k.name`;

/** How long a writer waits for another process's lock before giving up (SQLITE_BUSY). */
const BUSY_TIMEOUT_MS = 10_000;

/** SQLite result codes that mean the file cannot be used at all, rather than that one statement failed. */
const UNAVAILABLE = /^SQLITE_(CANTOPEN|NOTADB|CORRUPT|IOERR|READONLY|FULL|PERM|BUSY|LOCKED|AUTH)/;

function translate(e: unknown, where: string): ConfkubeError {
  if (e instanceof ConfkubeError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = (e as Error).message;
  if (typeof code === 'string' && UNAVAILABLE.test(code)) return new StoreUnavailableError(`SQLite store ${where}: ${msg}`, { sqliteCode: code });
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) return new StoreConflictError(`SQLite store ${where}: ${msg}`);
  return new StoreQueryError(`SQLite store ${where}: ${msg}`, typeof code === 'string' ? { sqliteCode: code } : undefined);
}

/**
 * The embedded store: one file, WAL so readers never wait for the writer, and `synchronous=FULL` so every
 * commit (each audit record in particular) is fsync'd to the WAL before the call returns — an answered
 * attestation's record survives kill -9 and power loss (SQLite docs, "PRAGMA synchronous": FULL in WAL mode
 * syncs the WAL on every commit). better-sqlite3 is synchronous, so a resolved promise means committed;
 * audit appends are group-committed (see flushAudit).
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private db: Database.Database;
  private closed = false;
  /** Prepared once per SQL text: the audit insert and policyVersion are on every request's path. */
  private readonly statements = new Map<string, Database.Statement>();
  private pendingAudit: { r: AuditRecord; resolve: (id: number) => void; reject: (e: Error) => void }[] = [];

  private constructor(readonly path: string, db: Database.Database) {
    this.db = db;
  }

  /** Opens (creating it 0600 if new) the database file; WARN hears of store files or folder other local users can read. */
  static open(path: string, warn: (msg: string) => void = () => undefined): SqliteStore {
    let db: Database.Database;
    createPrivateFile(path);
    try {
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    } catch (e) {
      throw new StoreUnavailableError(`SQLite store ${path} cannot be opened: ${(e as Error).message}`);
    }
    try {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      // Deleted and overwritten content is zeroed, so a re-sealed legacy private key leaves no plaintext in free pages.
      db.pragma('secure_delete = ON');
      // Fails here, not at the first query, if the file is not a database.
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (e) {
      db.close();
      throw translate(e, `${path} cannot be opened`);
    }
    for (const m of looseModes(path)) warn(m);
    return new SqliteStore(path, db);
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs FN against the open database, turning driver errors into the store's typed errors. */
  private run<T>(where: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`SQLite store ${this.path} is closed (${where})`));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(translate(e, `${this.path} ${where}`));
    }
  }

  /** Runs FN in a BEGIN IMMEDIATE transaction: takes the write lock first, so read-then-write is atomic across processes. */
  private write<T>(where: string, fn: () => T): Promise<T> {
    return this.run(where, () => this.db.transaction(fn).immediate());
  }

  private bumpPolicyVersion(): number {
    return (this.stmt("UPDATE counters SET value = value + 1 WHERE name = 'policy_version' RETURNING value").get() as { value: number }).value;
  }

  migrate(): Promise<void> {
    // The version check and the DDL share one IMMEDIATE transaction, so two processes starting at once
    // apply each migration once: the second waits for the lock, then sees the new user_version.
    return this.write('migrate', () => {
      const applied = this.db.pragma('user_version', { simple: true }) as number;
      if (applied > SQLITE_MIGRATIONS.length) {
        throw new StoreQueryError(`SQLite store ${this.path} has schema version ${applied}, newer than this confkube knows (${SQLITE_MIGRATIONS.length})`);
      }
      for (let v = applied; v < SQLITE_MIGRATIONS.length; v++) this.db.exec(SQLITE_MIGRATIONS[v]!);
      if (applied !== SQLITE_MIGRATIONS.length) this.db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
    });
  }

  listSigningKeys(): Promise<SigningKeyRecord[]> {
    return this.run('listSigningKeys', () => (this.stmt('SELECT * FROM signing_keys ORDER BY active_from, created_at, kid').all() as Row[]).map(signingKeyFromRow));
  }

  addSigningKey(k: SigningKeyRecord): Promise<void> {
    return this.run('addSigningKey', () => {
      checkSigningKey(k);
      this.insertSigningKey(k);
    });
  }

  private insertSigningKey(k: SigningKeyRecord): void {
    try {
      this.stmt('INSERT INTO signing_keys (kid, sealed_private_key, certificate_pem, created_at, active_from, retired_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(k.kid, k.sealedPrivateKey, k.certificatePem, k.createdAt, k.activeFrom, k.retiredAt);
    } catch (e) {
      if (String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) throw new StoreConflictError(`signing key ${k.kid} already exists`);
      throw e;
    }
  }

  addFirstSigningKey(k: SigningKeyRecord): Promise<boolean> {
    // BEGIN IMMEDIATE takes the write lock before the check: a second process waits, then sees the first key.
    return this.write('addFirstSigningKey', () => {
      checkSigningKey(k);
      if (this.stmt('SELECT 1 FROM signing_keys WHERE retired_at IS NULL LIMIT 1').get() !== undefined) return false;
      this.insertSigningKey(k);
      return true;
    });
  }

  resealSigningKey(kid: string, from: string, to: string): Promise<boolean> {
    return this.run('resealSigningKey', () => {
      checkString('signing key kid', kid);
      checkString(`signing key ${kid} old private key`, from);
      checkSealed(`signing key ${kid} sealedPrivateKey`, to);
      const changed = this.stmt('UPDATE signing_keys SET sealed_private_key = ? WHERE kid = ? AND sealed_private_key = ?').run(to, kid, from).changes > 0;
      // The old page image lives on in the WAL until a checkpoint copies the new one over it; truncate it now.
      if (changed) this.db.pragma('wal_checkpoint(TRUNCATE)');
      return changed;
    });
  }

  getSetting(name: string): Promise<string | null> {
    return this.run('getSetting', () => {
      checkString('setting name', name);
      return (this.stmt('SELECT value FROM settings WHERE name = ?').get(name) as { value: string } | undefined)?.value ?? null;
    });
  }

  putSetting(name: string, value: string): Promise<void> {
    return this.run('putSetting', () => {
      checkString('setting name', name);
      checkString(`setting ${name}`, value);
      this.stmt('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value').run(name, value);
    });
  }

  hasSimulatedAudit(): Promise<boolean> {
    return this.run('hasSimulatedAudit', () => this.stmt('SELECT 1 FROM audit WHERE simulated = 1 LIMIT 1').get() !== undefined);
  }

  retireSigningKey(kid: string, at: number): Promise<void> {
    return this.run('retireSigningKey', () => {
      checkString('signing key kid', kid);
      checkTime(`signing key ${kid} retiredAt`, at);
      if (this.stmt('UPDATE signing_keys SET retired_at = ? WHERE kid = ?').run(at, kid).changes === 0) throw new StoreConflictError(`signing key ${kid} does not exist`);
    });
  }

  getPolicy(attestationType: string): Promise<PolicyRecord | null> {
    return this.run('getPolicy', () => {
      checkString('policy attestationType', attestationType);
      const r = this.stmt('SELECT * FROM policies WHERE attestation_type = ? ORDER BY version DESC LIMIT 1').get(attestationType) as Row | undefined;
      return r === undefined || r.is_reset ? null : policyFromRow(r);
    });
  }

  setPolicy(p: Omit<PolicyRecord, 'version'>): Promise<PolicyRecord> {
    return this.write('setPolicy', () => {
      checkPolicy(p);
      this.bumpPolicyVersion();
      const version = this.nextPolicyVersion(p.attestationType);
      this.stmt('INSERT INTO policies (attestation_type, version, text, jws, hash, set_at, set_by, is_reset) VALUES (?, ?, ?, ?, ?, ?, ?, 0)')
        .run(p.attestationType, version, p.text, p.jws, p.hash, p.setAt, p.setBy);
      return { attestationType: p.attestationType, text: p.text, jws: p.jws, hash: p.hash, version, setAt: p.setAt, setBy: p.setBy };
    });
  }

  private nextPolicyVersion(attestationType: string): number {
    return (this.stmt('SELECT coalesce(max(version), 0) + 1 AS v FROM policies WHERE attestation_type = ?').get(attestationType) as { v: number }).v;
  }

  resetPolicy(attestationType: string, setBy: string): Promise<void> {
    return this.write('resetPolicy', () => {
      checkString('policy attestationType', attestationType);
      checkString('policy setBy', setBy);
      this.bumpPolicyVersion();
      this.stmt("INSERT INTO policies (attestation_type, version, text, jws, hash, set_at, set_by, is_reset) VALUES (?, ?, '', '', '', ?, ?, 1)")
        .run(attestationType, this.nextPolicyVersion(attestationType), Date.now(), setBy);
    });
  }

  policyHistory(attestationType: string, limit?: number): Promise<PolicyRecord[]> {
    return this.run('policyHistory', () => {
      checkString('policy attestationType', attestationType);
      const n = checkLimit('policy history', limit, DEFAULT_HISTORY_LIMIT);
      return (this.stmt('SELECT * FROM policies WHERE attestation_type = ? ORDER BY version DESC LIMIT ?').all(attestationType, n) as Row[]).map(policyFromRow);
    });
  }

  policyVersion(): Promise<number> {
    return this.run('policyVersion', () => (this.stmt("SELECT value FROM counters WHERE name = 'policy_version'").get() as { value: number }).value);
  }

  listPolicyCertificates(): Promise<PolicyCertRecord[]> {
    return this.run('listPolicyCertificates', () => (this.stmt('SELECT * FROM policy_certificates ORDER BY added_at, thumbprint').all() as Row[]).map(policyCertFromRow));
  }

  addPolicyCertificate(c: PolicyCertRecord): Promise<void> {
    return this.write('addPolicyCertificate', () => {
      checkPolicyCert(c);
      this.bumpPolicyVersion();
      // Adding a registered certificate again keeps the first registration (MAA: add is idempotent).
      this.stmt('INSERT INTO policy_certificates (thumbprint, certificate_pem, added_at) VALUES (?, ?, ?) ON CONFLICT (thumbprint) DO NOTHING')
        .run(c.thumbprint, c.certificatePem, c.addedAt);
    });
  }

  removePolicyCertificate(thumbprint: string): Promise<boolean> {
    return this.write('removePolicyCertificate', () => {
      checkString('policy certificate thumbprint', thumbprint);
      const removed = this.stmt('DELETE FROM policy_certificates WHERE thumbprint = ?').run(thumbprint).changes > 0;
      if (removed) this.bumpPolicyVersion();
      return removed;
    });
  }

  getCollateral(key: string): Promise<CollateralRecord | null> {
    return this.run('getCollateral', () => {
      checkString('collateral key', key);
      const r = this.stmt('SELECT * FROM collateral WHERE key = ?').get(key) as Row | undefined;
      return r === undefined ? null : collateralFromRow(r);
    });
  }

  putCollateral(c: CollateralRecord): Promise<void> {
    return this.run('putCollateral', () => {
      checkCollateral(c);
      this.stmt(`INSERT INTO collateral (key, body, issuer_chain, fetched_at, next_update, etag) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET body = excluded.body, issuer_chain = excluded.issuer_chain, fetched_at = excluded.fetched_at,
          next_update = excluded.next_update, etag = excluded.etag`)
        .run(c.key, asBuffer(c.body), c.issuerChain, c.fetchedAt, c.nextUpdate, c.etag ?? null);
    });
  }

  listCollateral(): Promise<CollateralRecord[]> {
    return this.run('listCollateral', () => (this.stmt('SELECT * FROM collateral ORDER BY key').all() as Row[]).map(collateralFromRow));
  }

  appendAudit(r: AuditRecord): Promise<number> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`SQLite store ${this.path} is closed (appendAudit)`));
    try {
      checkAudit(r);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return new Promise((resolve, reject) => {
      this.pendingAudit.push({ r, resolve, reject });
      if (this.pendingAudit.length === 1) setImmediate(() => this.flushAudit());
    });
  }

  private insertAudit(r: AuditRecord): number {
    return Number(this.stmt(`INSERT INTO audit (time, client_address, attestation_type, mr_enclave, mr_signer, tcb_status, decision, policy_hash, token_id, simulated, reason, actor, key_version, advisory_ids)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(r.time, r.clientAddress, r.attestationType, r.mrEnclave, r.mrSigner, r.tcbStatus, r.decision, r.policyHash, r.tokenId, r.simulated ? 1 : 0, r.reason ?? null, r.actor ?? null, r.keyVersion ?? null, joinAdvisories(r.advisoryIds))
      .lastInsertRowid);
  }

  /**
   * Group commit: the records appended during one turn of the event loop go into one transaction, so they share
   * one WAL fsync instead of paying one each; every promise resolves only after that COMMIT (synchronous=FULL).
   * If the batch fails, each record is retried alone, so one record's failure is not its neighbours'.
   */
  private flushAudit(): void {
    const batch = this.pendingAudit;
    this.pendingAudit = [];
    if (batch.length === 0) return;
    if (this.closed) {
      for (const b of batch) b.reject(new StoreUnavailableError(`SQLite store ${this.path} is closed (appendAudit)`));
      return;
    }
    try {
      const ids = this.db.transaction(() => batch.map((b) => this.insertAudit(b.r))).immediate();
      batch.forEach((b, i) => b.resolve(ids[i]!));
    } catch (e) {
      if (batch.length === 1) {
        batch[0]!.reject(translate(e, `${this.path} appendAudit`));
        return;
      }
      for (const b of batch) {
        try {
          b.resolve(this.insertAudit(b.r));
        } catch (e1) {
          b.reject(translate(e1, `${this.path} appendAudit`));
        }
      }
    }
  }

  queryAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.run('queryAudit', () => {
      const args: unknown[] = [];
      const sql = auditPageSql('audit', q, (v) => (args.push(v), '?'));
      return (this.stmt(sql).all(...args) as Row[]).map(auditFromRow);
    });
  }

  // The key store (types.ts ReleaseKeyStore): every write is one BEGIN IMMEDIATE transaction.

  createReleaseKey(k: ReleaseKeyRecord, first: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord> {
    return this.write('createReleaseKey', () => {
      checkReleaseKey(k);
      checkReleaseKeyVersion(first);
      if (this.stmt('SELECT 1 FROM release_keys WHERE name = ?').get(k.name) !== undefined) throw new StoreConflictError(`release key ${k.name} already exists`);
      this.stmt('INSERT INTO release_keys (name, created_at, created_by, retention_days, deleted_at, purge_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(k.name, k.createdAt, k.createdBy, k.retentionDays, k.deletedAt, k.purgeAt);
      return this.insertKeyVersion({ ...first, name: k.name }, 1);
    });
  }

  private insertKeyVersion(v: NewReleaseKeyVersion, seq: number): ReleaseKeyVersionRecord {
    if (this.stmt('SELECT 1 FROM release_key_versions WHERE name = ? AND version = ?').get(v.name, v.version) !== undefined) throw new StoreConflictError(`release key ${v.name} already has version ${v.version}`);
    this.stmt('INSERT INTO release_key_versions (name, version, seq, sealed_secret, policy, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(v.name, v.version, seq, v.sealedSecret, v.policy, v.enabled ? 1 : 0, v.createdAt, v.updatedAt);
    return { ...v, seq };
  }

  addReleaseKeyVersion(v: NewReleaseKeyVersion): Promise<ReleaseKeyVersionRecord> {
    return this.write('addReleaseKeyVersion', () => {
      checkReleaseKeyVersion(v);
      const k = this.stmt('SELECT deleted_at FROM release_keys WHERE name = ?').get(v.name) as Row | undefined;
      if (k === undefined) throw new StoreConflictError(`release key ${v.name} does not exist`);
      if (k.deleted_at !== null) throw new StoreConflictError(`release key ${v.name} is deleted`);
      const seq = (this.stmt('SELECT coalesce(max(seq), 0) + 1 AS s FROM release_key_versions WHERE name = ?').get(v.name) as { s: number }).s;
      return this.insertKeyVersion(v, seq);
    });
  }

  getReleaseKey(name: string): Promise<ReleaseKeyRecord | null> {
    return this.run('getReleaseKey', () => {
      checkString('release key name', name);
      const r = this.stmt('SELECT * FROM release_keys WHERE name = ?').get(name) as Row | undefined;
      return r === undefined ? null : releaseKeyFromRow(r);
    });
  }

  listReleaseKeys(): Promise<ReleaseKeyRecord[]> {
    return this.run('listReleaseKeys', () => (this.stmt('SELECT * FROM release_keys ORDER BY name').all() as Row[]).map(releaseKeyFromRow));
  }

  listReleaseKeyVersions(name: string): Promise<ReleaseKeyVersionRecord[]> {
    return this.run('listReleaseKeyVersions', () => {
      checkString('release key name', name);
      return (this.stmt('SELECT * FROM release_key_versions WHERE name = ? ORDER BY seq DESC').all(name) as Row[]).map(releaseKeyVersionFromRow);
    });
  }

  getReleaseKeyVersion(name: string, version: string | null): Promise<{ key: ReleaseKeyRecord; version: ReleaseKeyVersionRecord } | null> {
    return this.run('getReleaseKeyVersion', () => {
      checkString('release key name', name);
      checkString(`release key ${name} version`, version, true);
      const r = (version === null
        ? this.stmt(`${KEY_AND_VERSION} WHERE k.name = ? ORDER BY v.seq DESC LIMIT 1`).get(name)
        : this.stmt(`${KEY_AND_VERSION} WHERE k.name = ? AND v.version = ?`).get(name, version)) as Row | undefined;
      return r === undefined ? null : releaseKeyAndVersionFromRow(r);
    });
  }

  setReleaseKeyVersionEnabled(name: string, version: string, enabled: boolean, at: number): Promise<boolean> {
    return this.write('setReleaseKeyVersionEnabled', () => {
      checkString('release key name', name);
      checkString(`release key ${name} version`, version);
      checkTime(`release key ${name}/${version} updatedAt`, at);
      return this.stmt(`UPDATE release_key_versions SET enabled = ?, updated_at = ? WHERE name = ? AND version = ?
        AND EXISTS (SELECT 1 FROM release_keys k WHERE k.name = release_key_versions.name AND k.deleted_at IS NULL)`).run(enabled ? 1 : 0, at, name, version).changes > 0;
    });
  }

  deleteReleaseKey(name: string, at: number, purgeAt: number): Promise<boolean> {
    return this.write('deleteReleaseKey', () => {
      checkString('release key name', name);
      checkTime(`release key ${name} deletedAt`, at);
      checkTime(`release key ${name} purgeAt`, purgeAt);
      return this.stmt('UPDATE release_keys SET deleted_at = ?, purge_at = ? WHERE name = ? AND deleted_at IS NULL').run(at, purgeAt, name).changes > 0;
    });
  }

  recoverReleaseKey(name: string, now: number): Promise<boolean> {
    return this.write('recoverReleaseKey', () => {
      checkString('release key name', name);
      checkTime('release key recovery time', now);
      return this.stmt('UPDATE release_keys SET deleted_at = NULL, purge_at = NULL WHERE name = ? AND deleted_at IS NOT NULL AND purge_at > ?').run(name, now).changes > 0;
    });
  }

  purgeReleaseKeys(now: number): Promise<number> {
    return this.write('purgeReleaseKeys', () => {
      checkTime('release key purge time', now);
      // Versions go with their key (ON DELETE CASCADE); secure_delete zeroes the freed pages.
      return this.stmt('DELETE FROM release_keys WHERE deleted_at IS NOT NULL AND purge_at <= ?').run(now).changes;
    });
  }
  aggregateAudit(q: AuditAggregateQuery): Promise<AuditBucketCount[]> {
    return this.run('aggregateAudit', () => {
      const args: unknown[] = [];
      // better-sqlite3 binds a JS number as REAL: cast, so the bucket arithmetic is integer division.
      const sql = aggregateSql('audit', q, (v) => (args.push(v), '?'), (p) => `CAST(${p} AS INTEGER)`);
      return (this.stmt(sql).all(...args) as Row[]).map(bucketFromRow);
    });
  }

  auditAdvisories(q: { from: number; to: number }): Promise<AdvisoryCount[]> {
    return this.run('auditAdvisories', () => {
      const args: unknown[] = [];
      const sql = advisoriesSql('audit', q, (v) => (args.push(v), '?'));
      return (this.stmt(sql).all(...args) as Row[]).map(advisoryFromRow);
    });
  }


  close(): Promise<void> {
    if (!this.closed) {
      this.flushAudit(); // appends already accepted are written, not dropped
      this.closed = true;
      this.db.close();
    }
    return Promise.resolve();
  }
}
