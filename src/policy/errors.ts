import { ConfkubeError } from '../lib/errors.js';

/**
 * A policy document that cannot be accepted (docs/policy.md §Errors; "If the policy file contains syntax errors, the
 * policy file is rejected by the service"). Always located: line and column are 1-based, column counts UTF-16
 * code units from the start of the line.
 *
 * Codes: ERR_POLICY_SYNTAX (grammar, docs/policy.md §Grammar), ERR_POLICY_VERSION (a feature of a newer policy version, docs/policy.md §Document structure),
 * ERR_POLICY_SEMANTIC (well-formed but meaningless: unbound identifier, operator that cannot apply, action not
 * allowed in its section).
 */
export class PolicyError extends ConfkubeError {
  readonly line: number;
  readonly column: number;
  readonly expected?: string;
  /** The message without its location, for `FILE:line:column: reason` output. */
  readonly reason: string;

  constructor(code: 'ERR_POLICY_SYNTAX' | 'ERR_POLICY_VERSION' | 'ERR_POLICY_SEMANTIC', reason: string, line: number, column: number, expected?: string) {
    super(code, `${reason} (line ${line}, column ${column})`, { line, column, ...(expected !== undefined ? { expected } : {}) });
    this.line = line;
    this.column = column;
    this.reason = reason;
    if (expected !== undefined) this.expected = expected;
  }
}

/**
 * A rule failed while it ran (docs/policy.md §Function errors: a function error such as JsonToClaimValue on an object fails the
 * attestation). The evaluator turns it into a denial; it never escapes `evaluate`.
 */
export class PolicyRuntimeError extends ConfkubeError {
  constructor(message: string, code = 'ERR_POLICY_RUNTIME') {
    super(code, message);
  }
}

/** An evaluation ran out of its budget (steps or time, src/policy/budget.ts): `evaluate` reports it as `exhausted`. */
export class PolicyBudgetError extends PolicyRuntimeError {
  constructor(message: string) {
    super(message, 'ERR_POLICY_BUDGET');
  }
}
