export { KeyReleaseError } from './errors.js';
export { parseReleasePolicy, releaseAllowed, type ReleasePolicy } from './release-policy.js';
export { verifyServiceToken, type TokenKeys } from './verify-token.js';
export { enclaveKey, wrapForEnclave } from './wrap.js';
export { keyReleaseRoutes, type ReleasableKey, type KeyReleaseContext } from './routes.js';
export { parseRequirements, checkRequirements, DEFAULT_REQUIREMENTS, type ReleaseRequirements } from './requirements.js';
export { NonceBook } from './nonces.js';
