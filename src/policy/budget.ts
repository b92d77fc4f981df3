import { PolicyBudgetError } from './errors.js';

/**
 * The most work one evaluation may do (docs/attestation-limits.md). A step is one candidate claim tried in a join,
 * one function call, or one JSON node a function reads or produces. Wall time is checked as steps are taken, so it
 * bounds a long evaluation, not a single long step: callers that must bound those too run evaluation in a worker
 * they can stop (the attestation service does, for draft policies).
 */
export interface EvaluationBudget {
  /** Steps allowed (default 1,000,000). */
  maxSteps?: number;
  /** Wall-clock limit in ms, measured with `now` from the start of `evaluate`. */
  maxMs?: number;
  /** The clock for `maxMs` (ms). Default `Date.now`; passed in so the library stays pure and testable. */
  now?: () => number;
}

export const DEFAULT_MAX_STEPS = 1_000_000;

export class Meter {
  private steps = 0;
  private readonly maxSteps: number;
  private readonly deadline: number;
  private readonly now: () => number;
  private nextClockCheck = 256;

  constructor(b: EvaluationBudget = {}) {
    this.maxSteps = b.maxSteps ?? DEFAULT_MAX_STEPS;
    this.now = b.now ?? Date.now;
    this.deadline = b.maxMs === undefined ? Infinity : this.now() + b.maxMs;
  }

  /** Steps still allowed. */
  get left(): number {
    return this.maxSteps - this.steps;
  }

  /** Take `n` steps for `what`; throws PolicyBudgetError when the steps or the time run out. */
  charge(n: number, what: string): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new PolicyBudgetError(`${what}: evaluation budget of ${this.maxSteps} steps exhausted`);
    if (this.steps >= this.nextClockCheck) {
      this.nextClockCheck = this.steps + 256;
      if (this.deadline !== Infinity && this.now() > this.deadline) throw new PolicyBudgetError(`${what}: evaluation time budget exhausted`);
    }
  }
}

/** JSON nodes in `v` (values, array members, object entries), counted without recursion up to `cap`; Infinity above it. */
export function jsonNodes(v: unknown, cap: number): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (++n > cap) return Infinity;
    if (x === null || typeof x !== 'object') continue;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else for (const k in x) stack.push((x as Record<string, unknown>)[k]);
  }
  return n;
}
