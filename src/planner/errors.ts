import { ConfkubeError } from '../lib/errors.js';

/**
 * Bad planner input or an unreadable cluster (docs/planner.md): ERR_PLAN_INPUT (a manifest), ERR_PLAN_CATALOGUE,
 * ERR_PLAN_POOL, and for `confkube explain pod` ERR_POD_NOT_FOUND and ERR_CLUSTER_UNREACHABLE.
 */
export class PlannerError extends ConfkubeError {}
