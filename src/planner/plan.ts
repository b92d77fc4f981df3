import type { PlanOptions, PlanResult, PlanTarget } from './types.js';
import { PlannerError } from './errors.js';

/** Manifests (any workload kind, parsed from YAML/JSON) placed onto a target (docs/planner.md). */
export function planFromObjects(_objects: unknown[], _target: PlanTarget, _options: PlanOptions = {}): PlanResult {
  throw new PlannerError('ERR_PLAN_INPUT', 'not implemented yet');
}
