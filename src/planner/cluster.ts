import { at, isObject, stringMap } from '../admission/pod-spec.js';
import { isActivePod } from '../kube/pod-requests.js';
import { podRequests, resourceList } from './requests.js';
import type { NodeShape, ResourceList, Taint, TaintEffect } from './types.js';

const POOL_LABELS = ['kubernetes.azure.com/agentpool', 'agentpool'];
const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

/** A Node object (core/v1, as JSON) → the planner's node. */
export function nodeShapeFromNode(node: unknown): NodeShape {
  const name = String(at(node, ['metadata', 'name']) ?? '');
  const labels = stringMap(at(node, ['metadata', 'labels']));
  const taints: Taint[] = [];
  const t = at(node, ['spec', 'taints']);
  if (Array.isArray(t)) {
    for (const x of t) {
      if (!isObject(x) || typeof x.key !== 'string' || !EFFECTS.has(String(x.effect))) continue;
      taints.push({ key: x.key, ...(typeof x.value === 'string' && x.value !== '' ? { value: x.value } : {}), effect: x.effect as TaintEffect });
    }
  }
  const shape: NodeShape = { name, labels, taints, allocatable: resourceList(at(node, ['status', 'allocatable']) ?? at(node, ['status', 'capacity']), `node ${name} allocatable`) };
  const pool = POOL_LABELS.map((l) => labels[l]).find((v) => v !== undefined);
  if (pool) shape.pool = pool;
  if (labels['node.kubernetes.io/instance-type']) shape.vmSize = labels['node.kubernetes.io/instance-type'];
  if (at(node, ['spec', 'unschedulable']) === true) shape.unschedulable = true;
  return shape;
}

/**
 * A live cluster as a plan target: nodes with what their bound, unfinished pods request (summed as the
 * scheduler does), and the pods not bound yet (to be planned).
 */
export function clusterTarget(nodes: readonly unknown[], pods: readonly unknown[]): { nodes: NodeShape[]; pending: Record<string, unknown>[] } {
  const shapes = nodes.map(nodeShapeFromNode);
  const byName = new Map(shapes.map((s) => [s.name, s]));
  const pending: Record<string, unknown>[] = [];
  for (const p of pods) {
    if (!isObject(p) || !isActivePod(p as never)) continue;
    const nodeName = at(p, ['spec', 'nodeName']);
    if (typeof nodeName !== 'string' || nodeName === '') {
      pending.push({ ...p, kind: 'Pod' });
      continue;
    }
    const shape = byName.get(nodeName);
    const spec = at(p, ['spec']);
    if (!shape || !isObject(spec)) continue;
    let requests: ResourceList;
    try {
      requests = podRequests(spec, `pod ${String(at(p, ['metadata', 'namespace']))}/${String(at(p, ['metadata', 'name']))}`).requests;
    } catch {
      // The API server accepted the pod: a quantity we cannot read counts as nothing.
      continue;
    }
    const sum = (shape.requested ??= {});
    for (const [k, v] of Object.entries(requests)) sum[k] = (sum[k] ?? 0) + v;
    shape.podCount = (shape.podCount ?? 0) + 1;
  }
  return { nodes: shapes, pending };
}
