export { KeyReleaseError } from './errors.js';
export { parseReleasePolicy, releaseAllowed, type ReleasePolicy } from './release-policy.js';
export { verifyServiceToken, verifyToken, parseTokenKeys, type TokenKeys, type TrustedIssuer } from './verify-token.js';
export { enclaveKey, wrapForEnclave } from './wrap.js';
export { keyReleaseRoutes, type ReleasableKey, type KeyReleaseContext, type ReleaseAuditEntry, type VerifyEvidence, type EvidenceSummary } from './routes.js';
export { keyManagementRoutes, type KeyManagementContext, type KeyManagementAuditEntry } from './manage-routes.js';
export { StoreKeySource, secretAad, checkKeyName, KEY_NAME, KEY_VERSION, RETENTION_DAYS, type KeySource, type ResolvedKey, type NewSecret } from './key-source.js';
export { parseRequirements, checkRequirements, DEFAULT_REQUIREMENTS, type ReleaseRequirements } from './requirements.js';
export { NonceBook } from './nonces.js';
