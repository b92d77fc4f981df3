import { BUILTIN_CATALOGUE, nodesOfPool } from './catalogue.js';
import { nodeReports, placeAll } from './place.js';
import { recommend } from './recommend.js';
import type { NodeShape, PlanOptions, PlanResult, PlanTarget } from './types.js';
import { expandObjects } from './workloads.js';

/**
 * Manifests (any workload kind, parsed from YAML/JSON) placed onto a target: existing nodes, pools of catalogue
 * VM sizes, or both (docs/planner.md). Pods a webhook would refuse, and pods no node takes, come back in
 * `unschedulable` with the reason; `recommendation` holds the cheapest pools to add so that all fit.
 */
export function planFromObjects(objects: unknown[], target: PlanTarget, options: PlanOptions = {}): PlanResult {
  const catalogue = options.catalogue ?? BUILTIN_CATALOGUE;
  const warnings: string[] = [];
  const ro = options.recommend === false ? null : options.recommend === true || options.recommend === undefined ? {} : options.recommend;
  let webhook = options.webhook === false ? null : options.webhook === true || options.webhook === undefined ? {} : options.webhook;
  // A cluster that taints its SGX pool runs the webhook with the matching toleration (docs/admission.md).
  if (webhook && webhook.sgxToleration === undefined && ro?.sgxTaint) webhook = { ...webhook, sgxToleration: { key: ro.sgxTaint.key, operator: ro.sgxTaint.value ? 'Equal' : 'Exists', ...(ro.sgxTaint.value ? { value: ro.sgxTaint.value } : {}), effect: ro.sgxTaint.effect } };
  const pods = expandObjects(objects, { namespace: options.namespace, webhook }, warnings);
  const nodes: NodeShape[] = [...(target.nodes ?? []), ...(target.pools ?? []).flatMap((p, i) => nodesOfPool(catalogue, p, i))];
  const placed = placeAll(pods, nodes);
  return {
    placements: placed.placements,
    nodes: nodeReports(placed.scheduler),
    unschedulable: placed.unschedulable,
    recommendation: ro ? recommend(pods, placed.pending, nodes, catalogue, ro) : null,
    warnings,
  };
}
