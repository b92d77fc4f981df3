import type { AuditRecord, CollateralRecord, NewReleaseKeyVersion, PolicyCertRecord, PolicyRecord, ReleaseKeyRecord, ReleaseKeyVersionRecord, SigningKeyRecord } from './types.js';
import { StoreArgumentError } from './errors.js';
import { isSealed } from './sealed-key.js';

/**
 * Rows as both backends return them (snake_case columns) and the records the interface speaks.
 * PostgreSQL's BIGINT arrives as a string from `pg`, SQLite's INTEGER as a number: `ms` takes both.
 */
export type Row = Record<string, unknown>;

function ms(v: unknown): number {
  return typeof v === 'number' ? v : Number(v as string);
}
function msOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : ms(v);
}
function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : (v as string);
}

export function signingKeyFromRow(r: Row): SigningKeyRecord {
  return {
    kid: r.kid as string, sealedPrivateKey: r.sealed_private_key as string, certificatePem: r.certificate_pem as string,
    createdAt: ms(r.created_at), activeFrom: ms(r.active_from), retiredAt: msOrNull(r.retired_at),
  };
}

export function policyFromRow(r: Row): PolicyRecord {
  return {
    attestationType: r.attestation_type as string, text: r.text as string, jws: r.jws as string, hash: r.hash as string,
    version: ms(r.version), setAt: ms(r.set_at), setBy: r.set_by as string,
  };
}

export function policyCertFromRow(r: Row): PolicyCertRecord {
  return { thumbprint: r.thumbprint as string, certificatePem: r.certificate_pem as string, addedAt: ms(r.added_at) };
}

/** The body is the driver's Buffer (a Uint8Array) as read: not copied. */
export function collateralFromRow(r: Row): CollateralRecord {
  return {
    key: r.key as string, body: r.body as Uint8Array, issuerChain: strOrNull(r.issuer_chain),
    fetchedAt: ms(r.fetched_at), nextUpdate: msOrNull(r.next_update), etag: strOrNull(r.etag),
  };
}

export function auditFromRow(r: Row): AuditRecord {
  return {
    id: ms(r.id), time: ms(r.time), clientAddress: r.client_address as string, attestationType: r.attestation_type as string,
    mrEnclave: strOrNull(r.mr_enclave), mrSigner: strOrNull(r.mr_signer), tcbStatus: strOrNull(r.tcb_status),
    decision: r.decision as AuditRecord['decision'], policyHash: strOrNull(r.policy_hash), tokenId: strOrNull(r.token_id),
    simulated: r.simulated === true || r.simulated === 1 || r.simulated === 1n, reason: strOrNull(r.reason),
    // Only key-store records carry these; attestation records read back as they were written.
    ...(r.actor != null ? { actor: r.actor as string } : {}),
    ...(r.key_version != null ? { keyVersion: r.key_version as string } : {}),
    // Present only when the verdict named advisories, so records without them read as before the column existed.
    ...(typeof r.advisory_ids === 'string' ? { advisoryIds: splitAdvisories(r.advisory_ids) } : {}),
  };
}

export function releaseKeyFromRow(r: Row): ReleaseKeyRecord {
  return {
    name: r.name as string, createdAt: ms(r.created_at), createdBy: r.created_by as string, retentionDays: ms(r.retention_days),
    deletedAt: msOrNull(r.deleted_at), purgeAt: msOrNull(r.purge_at),
  };
}

export function releaseKeyVersionFromRow(r: Row): ReleaseKeyVersionRecord {
  return {
    name: r.name as string, version: r.version as string, seq: ms(r.seq), sealedSecret: r.sealed_secret as string, policy: r.policy as string,
    enabled: r.enabled === true || r.enabled === 1, createdAt: ms(r.created_at), updatedAt: ms(r.updated_at),
  };
}

/** The columns of release_keys (`k_*`) and release_key_versions (`v_*`) read in one joined row. */
export function releaseKeyAndVersionFromRow(r: Row): { key: ReleaseKeyRecord; version: ReleaseKeyVersionRecord } {
  const pick = (prefix: string): Row => Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  return { key: releaseKeyFromRow(pick('k_')), version: releaseKeyVersionFromRow(pick('v_')) };
}

export function checkReleaseKey(k: ReleaseKeyRecord): void {
  checkString('release key name', k.name);
  if (k.name === '') throw new StoreArgumentError('release key name is empty');
  checkString(`release key ${k.name} createdBy`, k.createdBy);
  checkTime(`release key ${k.name} createdAt`, k.createdAt);
  if (!Number.isSafeInteger(k.retentionDays) || k.retentionDays < 0) throw new StoreArgumentError(`release key ${k.name} retentionDays must be a non-negative integer, got ${String(k.retentionDays)}`);
  checkTime(`release key ${k.name} deletedAt`, k.deletedAt, true);
  checkTime(`release key ${k.name} purgeAt`, k.purgeAt, true);
}

/** A secret reaches the store only sealed, like a private key (checkSealed). */
export function checkReleaseKeyVersion(v: NewReleaseKeyVersion): void {
  checkString('release key name', v.name);
  checkString(`release key ${v.name} version`, v.version);
  if (v.version === '') throw new StoreArgumentError(`release key ${v.name} version is empty`);
  checkSealed(`release key ${v.name}/${v.version} sealedSecret`, v.sealedSecret);
  checkString(`release key ${v.name}/${v.version} policy`, v.policy);
  if (typeof v.enabled !== 'boolean') throw new StoreArgumentError(`release key ${v.name}/${v.version} enabled must be a boolean`);
  checkTime(`release key ${v.name}/${v.version} createdAt`, v.createdAt);
  checkTime(`release key ${v.name}/${v.version} updatedAt`, v.updatedAt);
}

/** Times are integer milliseconds since the epoch; anything else is a caller's bug caught before it is stored. */
export function checkTime(what: string, v: unknown, nullable = false): void {
  if (nullable && v === null) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new StoreArgumentError(`${what} must be an integer number of milliseconds, got ${String(v)}`);
}

export function checkString(what: string, v: unknown, nullable = false): void {
  if (nullable && (v === null || v === undefined)) return;
  if (typeof v !== 'string') throw new StoreArgumentError(`${what} must be a string, got ${v === null ? 'null' : typeof v}`);
  // PostgreSQL TEXT cannot hold U+0000; refusing it in both backends keeps them interchangeable.
  if (v.includes('\u0000')) throw new StoreArgumentError(`${what} contains a NUL character at index ${v.indexOf('\u0000')}`);
}

export function checkSigningKey(k: SigningKeyRecord): void {
  checkString('signing key kid', k.kid);
  if (k.kid === '') throw new StoreArgumentError('signing key kid is empty');
  checkSealed(`signing key ${k.kid} sealedPrivateKey`, k.sealedPrivateKey);
  checkString(`signing key ${k.kid} certificatePem`, k.certificatePem);
  checkTime(`signing key ${k.kid} createdAt`, k.createdAt);
  checkTime(`signing key ${k.kid} activeFrom`, k.activeFrom);
  checkTime(`signing key ${k.kid} retiredAt`, k.retiredAt, true);
}

/** A private key reaches the store only sealed (sealed-key.ts): a plaintext one is a caller's bug, refused before it is written. */
export function checkSealed(what: string, v: unknown): void {
  checkString(what, v);
  if (!isSealed(v as string)) throw new StoreArgumentError(`${what} is not sealed by a key protector: the store does not keep private keys in plaintext`);
}

export function checkPolicy(p: Omit<PolicyRecord, 'version'>): void {
  checkString('policy attestationType', p.attestationType);
  for (const f of ['text', 'jws', 'hash', 'setBy'] as const) checkString(`policy ${p.attestationType} ${f}`, p[f]);
  checkTime(`policy ${p.attestationType} setAt`, p.setAt);
}

export function checkPolicyCert(c: PolicyCertRecord): void {
  checkString('policy certificate thumbprint', c.thumbprint);
  checkString(`policy certificate ${c.thumbprint} certificatePem`, c.certificatePem);
  checkTime(`policy certificate ${c.thumbprint} addedAt`, c.addedAt);
}

export function checkCollateral(c: CollateralRecord): void {
  checkString('collateral key', c.key);
  if (!(c.body instanceof Uint8Array)) throw new StoreArgumentError(`collateral ${c.key} body must be a Uint8Array`);
  checkString(`collateral ${c.key} issuerChain`, c.issuerChain, true);
  checkTime(`collateral ${c.key} fetchedAt`, c.fetchedAt);
  checkTime(`collateral ${c.key} nextUpdate`, c.nextUpdate, true);
  checkString(`collateral ${c.key} etag`, c.etag, true);
}

const DECISIONS = new Set(['permit', 'deny', 'error']);

export function checkAudit(r: AuditRecord): void {
  checkTime('audit time', r.time);
  checkString('audit clientAddress', r.clientAddress);
  checkString('audit attestationType', r.attestationType);
  for (const f of ['mrEnclave', 'mrSigner', 'tcbStatus', 'policyHash', 'tokenId', 'reason', 'actor', 'keyVersion'] as const) checkString(`audit ${f}`, r[f], true);
  if (!DECISIONS.has(r.decision)) throw new StoreArgumentError(`audit decision must be permit, deny or error, got ${String(r.decision)}`);
  if (typeof r.simulated !== 'boolean') throw new StoreArgumentError('audit simulated must be a boolean');
  joinAdvisories(r.advisoryIds);
}

/** A view of the body that the driver binds as a blob / bytea without copying. */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export const DEFAULT_HISTORY_LIMIT = 100;
export const DEFAULT_AUDIT_LIMIT = 1000;

export function checkLimit(what: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new StoreArgumentError(`${what} limit must be a positive integer, got ${String(v)}`);
  return v;
}

/** Stored as one space-separated column (sorted, unique): an advisory id never holds a space. */
export function joinAdvisories(ids: readonly string[] | null | undefined): string | null {
  if (!ids || ids.length === 0) return null;
  for (const id of ids) {
    checkString('audit advisory id', id);
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new StoreArgumentError(`audit advisory id ${JSON.stringify(id.slice(0, 70))} is not an advisory id (letters, digits, -)`);
  }
  return [...new Set(ids)].sort().join(' ');
}

export function splitAdvisories(v: unknown): string[] {
  return typeof v === 'string' && v !== '' ? v.split(' ') : [];
}
