import { ConfkubeError } from '../lib/errors.js';

/** Bad planner input: a catalogue file, a pool, a manifest. Codes: ERR_PLAN_CATALOGUE, ERR_PLAN_POOL, ERR_PLAN_INPUT. */
export class PlannerError extends ConfkubeError {}
