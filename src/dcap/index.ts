export * from './errors.js';
export { INTEL_SGX_ROOT_CA_SHA256, intelSgxRootCaDer } from './intel-root.js';
export { prepareCollateral, collateralFromFiles, collateralFromBundle, type Collateral, type CollateralInput } from './collateral.js';
export { parseSignedJson, type SignedJson } from './signed-json.js';
export { parseTcbInfo, matchTcbLevel, TCB_STATUSES, isTcbStatus, type TcbStatus, type TcbInfo, type TcbLevel } from './tcb-info.js';
export { parseQeIdentity, qeIdentityMismatch, matchQeLevel, type QeIdentity } from './qe-identity.js';
export { convergeTcbStatus } from './tcb-status.js';
export { verifyQuote, Verifier, CACHE_LIMITS, type Verdict, type VerdictIssue, type VerifyOptions } from './verify-quote.js';
export { verdictToJson } from './verdict-json.js';
