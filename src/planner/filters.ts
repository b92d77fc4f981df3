import type { NodeAffinityRequired, NodeSelectorRequirement, Taint, Toleration } from './types.js';

/**
 * kube-scheduler's filter plugins for the subset users write (docs/planner.md §Rules), with the reasons they
 * give. The scheduler runs the filters in this order and stops at the first that fails for a node, so each node
 * contributes the reasons of one plugin to the "0/N nodes are available" message.
 */
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const REASON_NODE_NAME = "node(s) didn't match the requested node name";

/** kube-scheduler 1.36's TaintToleration reason; it no longer names the taint (earlier releases wrote `{key: value}`). */
export const REASON_TAINT = 'node(s) had untolerated taint(s)';

export function insufficientReason(resource: string): string {
  return `Insufficient ${resource}`;
}

/** v1 toleration matching (k8s.io/api core/v1 Toleration.ToleratesTaint). */
export function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect !== undefined && tol.effect !== taint.effect) return false;
  if (tol.key !== undefined && tol.key !== '' && tol.key !== taint.key) return false;
  if (tol.operator === 'Exists') return true;
  // Equal (the default); an empty key with Equal matches nothing but the empty key.
  if ((tol.key ?? '') === '' && taint.key !== '') return false;
  return (tol.value ?? '') === (taint.value ?? '');
}

/** TaintToleration filter: the first NoSchedule/NoExecute taint no toleration covers (PreferNoSchedule only scores). */
export function firstUntolerated(taints: readonly Taint[], tolerations: readonly Toleration[]): Taint | null {
  for (const t of taints) {
    if (t.effect === 'PreferNoSchedule') continue;
    if (!tolerations.some((tol) => tolerates(tol, t))) return t;
  }
  return null;
}

const INT = /^-?\d+$/;

/** One NodeSelectorRequirement against a label map (k8s.io/component-helpers nodeaffinity). */
export function requirementMatches(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(v);
    case 'NotIn':
      return !has || !values.includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !INT.test(v) || !INT.test(values[0])) return false;
      const a = Number(v);
      const b = Number(values[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/**
 * NodeAffinity filter: every nodeSelector label, and one of the required terms (a term with no requirement
 * matches nothing; matchFields knows only `metadata.name`).
 */
export function affinityMatches(nodeSelector: Record<string, string>, affinity: NodeAffinityRequired | undefined, labels: Record<string, string>, nodeName: string): boolean {
  for (const [k, v] of Object.entries(nodeSelector)) if (labels[k] !== v) return false;
  if (!affinity) return true;
  return affinity.nodeSelectorTerms.some((term) => {
    const exprs = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (exprs.length === 0 && fields.length === 0) return false;
    return exprs.every((r) => requirementMatches(r, labels)) && fields.every((r) => r.key === 'metadata.name' && requirementMatches({ ...r, key: 'name' }, { name: nodeName }));
  });
}

/** kube-scheduler's FitError text: reasons counted over nodes, "count reason" strings sorted, joined. */
export function fitErrorMessage(total: number, reasons: Record<string, number>): string {
  const parts = Object.entries(reasons).map(([r, n]) => `${n} ${r}`).sort();
  return `0/${total} nodes are available${parts.length ? ': ' + parts.join(', ') : ''}.`;
}
