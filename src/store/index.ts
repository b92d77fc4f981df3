export type { AuditQuery, AuditRecord, CollateralRecord, NewReleaseKeyVersion, PolicyCertRecord, PolicyRecord, ReleaseKeyRecord, ReleaseKeyStore, ReleaseKeyVersionRecord, SigningKeyRecord, Store } from './types.js';
export { openStore, type OpenStoreOptions } from './open-store.js';
export { AesGcmKeyProtector, KeyProtectionError, isSealed, kekId, newKekText, parseKek, type KeyProtector } from './sealed-key.js';
export { keyProtectorFrom, type KekSource } from './kek.js';
export { parseStoreUrl, redactUrl, type StoreLocation } from './url.js';
export { StoreArgumentError, StoreConflictError, StoreQueryError, StoreUnavailableError, StoreUrlError } from './errors.js';
export { SqliteStore } from './sqlite/store.js';
export { PostgresStore } from './postgres/store.js';
export type { AdvisoryCount, AuditAggregateQuery, AuditBucketCount, AuditKind } from './types.js';
