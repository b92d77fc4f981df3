/**
 * The attestation policy language of Microsoft Azure Attestation, versions 1.0-1.2 (docs/policy.md §Document structure):
 * parse once, evaluate incoming claims many times → permit/deny, issued claims and properties.
 * Pure: no I/O.
 */
export type { Claim } from './claims.js';
export { ISSUER_SERVICE, ISSUER_POLICY, LEGACY_ALIASES } from './claims.js';
export { PolicyError, PolicyRuntimeError, PolicyBudgetError } from './errors.js';
export { DEFAULT_MAX_STEPS, type EvaluationBudget } from './budget.js';
export type { CompiledPolicy, PolicyDecision, RuleInfo } from './compile.js';
export { compilePolicy, checkPolicy, type CompileOptions } from './compile-policy.js';
export { policyHash } from './hash.js';
export { DEFAULT_POLICIES, DEFAULT_SGX_POLICY_V10, DEFAULT_SGX_POLICY_V11 } from './defaults.js';
export { sgxClaimsFromReport, type SgxReportClaimsInput } from './sgx-claims.js';
export { parsePolicy, type ParseOptions } from './parser.js';
export { tokenize, type Token } from './lexer.js';
export type * from './ast.js';
