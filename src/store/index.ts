export type { AuditQuery, AuditRecord, CollateralRecord, PolicyCertRecord, PolicyRecord, SigningKeyRecord, Store } from './types.js';
export { openStore } from './open-store.js';
export { parseStoreUrl, redactUrl, type StoreLocation } from './url.js';
export { StoreArgumentError, StoreConflictError, StoreQueryError, StoreUnavailableError, StoreUrlError } from './errors.js';
export { SqliteStore } from './sqlite/store.js';
export { PostgresStore } from './postgres/store.js';
