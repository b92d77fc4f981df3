import { planPod, type MutateOptions } from '../admission/mutate.js';
import { applyJsonPatch } from '../admission/json-patch.js';
import { POD_META_PATHS, POD_SPEC_PATHS, at, isObject, stringMap } from '../admission/pod-spec.js';
import { ENCLAVE_RESOURCE, EPC_RESOURCE, PROVISION_RESOURCE } from '../kube/names.js';
import { PlannerError } from './errors.js';
import { podRequests } from './requests.js';
import type { NodeAffinityRequired, NodeSelectorRequirement, PlannedPod, TaintEffect, Toleration } from './types.js';

/** A pod with what only the planner needs: scoring requests, priority, and the webhook's refusal if any. */
export interface PodInput extends PlannedPod {
  score: { cpu: number; memory: number };
  priority: number;
  /** The confkube webhook would refuse the object: why. */
  refused?: string;
  /** Equal for pods the non-resource filters treat alike (selector, affinity, tolerations, daemon): their verdicts are shared. */
  filterKey: string;
}

export function filterKeyOf(p: Pick<PlannedPod, 'nodeSelector' | 'affinity' | 'tolerations' | 'daemon'>): string {
  return JSON.stringify([p.nodeSelector, p.affinity ?? null, p.tolerations, p.daemon ?? false]);
}

export interface ExpandOptions {
  namespace?: string;
  /** null: no webhook in front of the API server; else its options. */
  webhook: MutateOptions | null;
}

/** Kinds that make no pods: skipped without a word. */
const NOT_WORKLOADS = new Set(['Service', 'ConfigMap', 'Secret', 'ServiceAccount', 'Namespace', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Ingress', 'NetworkPolicy', 'PersistentVolumeClaim', 'PersistentVolume', 'StorageClass', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'CustomResourceDefinition', 'PriorityClass', 'LimitRange', 'ResourceQuota', 'Endpoints', 'EndpointSlice', 'PodTemplate']);

const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function parseTolerations(v: unknown): Toleration[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((t) => ({
    key: str(t.key),
    operator: t.operator === 'Exists' ? 'Exists' : 'Equal',
    value: str(t.value),
    effect: EFFECTS.has(str(t.effect) ?? '') ? (t.effect as TaintEffect) : undefined,
  }));
}

function requirements(v: unknown): NodeSelectorRequirement[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((r) => ({
    key: str(r.key) ?? '',
    operator: (str(r.operator) ?? 'In') as NodeSelectorRequirement['operator'],
    values: Array.isArray(r.values) ? r.values.filter((x): x is string => typeof x === 'string') : undefined,
  }));
}

export function parseRequiredAffinity(spec: Record<string, unknown>): NodeAffinityRequired | undefined {
  const req = at(spec, ['affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution']);
  if (!isObject(req) || !Array.isArray(req.nodeSelectorTerms)) return undefined;
  return {
    nodeSelectorTerms: req.nodeSelectorTerms.filter(isObject).map((t) => ({ matchExpressions: requirements(t.matchExpressions), matchFields: requirements(t.matchFields) })),
  };
}

/** How many pods one object makes at once (docs/planner.md §Input). DaemonSets: one per eligible node, marked `daemon`. */
function replicasOf(kind: string, obj: Record<string, unknown>): number {
  const n = (v: unknown, d: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : d);
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet':
    case 'ReplicationController':
    case 'StatefulSet':
      return n(at(obj, ['spec', 'replicas']), 1);
    case 'Job': {
      // Pods that run at once: parallelism, capped by completions.
      const p = n(at(obj, ['spec', 'parallelism']), 1);
      const c = at(obj, ['spec', 'completions']);
      return typeof c === 'number' ? Math.min(p, n(c, p)) : p;
    }
    case 'CronJob': {
      const p = n(at(obj, ['spec', 'jobTemplate', 'spec', 'parallelism']), 1);
      const c = at(obj, ['spec', 'jobTemplate', 'spec', 'completions']);
      return typeof c === 'number' ? Math.min(p, n(c, p)) : p;
    }
    default:
      return 1;
  }
}

function isSgx(requests: Record<string, number>): boolean {
  return (requests[EPC_RESOURCE] ?? 0) > 0 || (requests[ENCLAVE_RESOURCE] ?? 0) > 0 || (requests[PROVISION_RESOURCE] ?? 0) > 0;
}

/** One pod from a pod spec (already mutated as the webhook would). */
export function podFromSpec(spec: Record<string, unknown>, meta: { id: string; namespace: string; name: string; workload: string }, refused?: string): PodInput {
  const { requests, score } = podRequests(spec, meta.workload);
  const pod: PodInput = {
    ...meta,
    requests,
    sgx: isSgx(requests),
    nodeSelector: stringMap(spec.nodeSelector),
    tolerations: parseTolerations(spec.tolerations),
    score,
    priority: typeof spec.priority === 'number' ? spec.priority : 0,
    filterKey: '',
  };
  const affinity = parseRequiredAffinity(spec);
  if (affinity) pod.affinity = affinity;
  pod.filterKey = filterKeyOf(pod);
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') pod.nodeName = spec.nodeName;
  if (refused !== undefined) pod.refused = refused;
  return pod;
}

/**
 * Manifests → the pods they make. Each object goes through the confkube webhook's own mutation first (EPC
 * aliases to `sgx.intel.com/epc` in bytes, the enclave device, the SGX toleration: `planPod` of src/admission),
 * so the planner sees what the scheduler will see; an object the webhook refuses makes pods marked `refused`.
 */
export function expandObjects(objects: readonly unknown[], options: ExpandOptions, warnings: string[]): PodInput[] {
  const pods: PodInput[] = [];
  const seen = new Map<string, number>();
  const visit = (obj: unknown, where: string): void => {
    if (obj === null || obj === undefined) return;
    if (!isObject(obj)) throw new PlannerError('ERR_PLAN_INPUT', `${where}: not an object`);
    const kind = str(obj.kind);
    if (kind === undefined) throw new PlannerError('ERR_PLAN_INPUT', `${where}: has no kind`);
    if (kind === 'List' || kind.endsWith('List')) {
      if (Array.isArray(obj.items)) obj.items.forEach((item, i) => visit(item, `${where} item ${i}`));
      return;
    }
    if (!Object.hasOwn(POD_SPEC_PATHS, kind) || kind === 'PodTemplate') {
      if (!NOT_WORKLOADS.has(kind)) warnings.push(`${where}: kind ${kind} makes no pods; skipped`);
      return;
    }
    const name = str(at(obj, ['metadata', 'name'])) ?? str(at(obj, ['metadata', 'generateName'])) ?? 'unnamed';
    const namespace = str(at(obj, ['metadata', 'namespace'])) ?? options.namespace ?? 'default';
    const workload = `${kind}/${name}`;
    const specPath = POD_SPEC_PATHS[kind];
    let object: Record<string, unknown> = obj;
    let refused: string | undefined;
    if (options.webhook) {
      const annotations = stringMap(at(obj, [...POD_META_PATHS[kind], 'annotations']));
      const plan = planPod(at(obj, specPath), annotations, specPath, options.webhook);
      if (plan.denials.length > 0) refused = `refused by the confkube webhook: ${plan.denials.join('; ')}`;
      else if (plan.ops.length > 0) object = applyJsonPatch(obj, plan.ops);
      for (const w of plan.warnings) warnings.push(`${workload}: ${w}`);
    }
    const spec = at(object, specPath);
    if (!isObject(spec)) throw new PlannerError('ERR_PLAN_INPUT', `${where} (${workload}): no pod spec at ${specPath.join('.')}`);
    const key = `${namespace}/${workload}`;
    const dup = seen.get(key) ?? 0;
    seen.set(key, dup + 1);
    const base = dup === 0 ? name : `${name}~${dup}`;
    if (kind === 'DaemonSet') {
      const daemon = { ...podFromSpec(spec, { id: `${namespace}/${base}`, namespace, name: base, workload }, refused), daemon: true };
      pods.push({ ...daemon, filterKey: filterKeyOf(daemon) });
      return;
    }
    const n = replicasOf(kind, object);
    // Replicas share one template: read it once (its maps are shared, read-only, by every replica).
    const template = podFromSpec(spec, { id: '', namespace, name: '', workload }, refused);
    for (let i = 0; i < n; i++) {
      const podName = kind === 'Pod' ? base : `${base}-${i}`;
      pods.push({ ...template, id: `${namespace}/${podName}`, name: podName });
    }
  };
  objects.forEach((o, i) => visit(o, `object ${i}`));
  return pods;
}
