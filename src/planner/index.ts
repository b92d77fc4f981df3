/**
 * The EPC capacity planner (docs/planner.md): manifests placed onto nodes or catalogue pools with the
 * scheduler's rules, per-node EPC headroom, unschedulable pods with the scheduler's reason, and the cheapest
 * pool shape that fits. Pure: no file or network access; callers read files and clusters.
 */
export type * from './types.js';
export { PlannerError } from './errors.js';
export { planFromObjects } from './plan.js';
export { loadCatalogue, parseCatalogue, BUILTIN_CATALOGUE } from './catalogue.js';
export { explainPod, type ExplainInput, type Explanation } from './explain.js';
export { clusterTarget, nodeShapeFromNode } from './cluster.js';
