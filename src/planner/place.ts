import { EPC_RESOURCE } from '../kube/names.js';
import { fitErrorMessage } from './filters.js';
import { Scheduler } from './scheduler.js';
import type { NodeReport, NodeShape, Placement, Unschedulable, Usage } from './types.js';
import { filterKeyOf, type PodInput } from './workloads.js';

/** Tolerations the DaemonSet controller gives every daemon pod (docs/planner.md §Input). */
const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
] as const;

export interface PlaceResult {
  placements: Placement[];
  unschedulable: Unschedulable[];
  /** Unschedulable pods themselves (for the recommendation). */
  pending: PodInput[];
  scheduler: Scheduler;
}

function unschedulable(pod: PodInput, total: number, reasons: Record<string, number>, reason?: string): Unschedulable {
  return {
    pod: pod.id,
    workload: pod.workload,
    epcBytes: pod.requests[EPC_RESOURCE] ?? 0,
    reason: reason ?? (total === 0 ? 'no nodes available to schedule pods' : fitErrorMessage(total, reasons)),
    reasons,
  };
}

/**
 * Every pod through one scheduling cycle, in the scheduler's queue order: pods already bound are counted on
 * their node, DaemonSet pods go to each node they may run on, then the rest by priority (higher first), in
 * input order within a priority (the queue's creation-time order).
 */
export function placeAll(pods: readonly PodInput[], nodes: readonly NodeShape[]): PlaceResult {
  const extra = new Set(pods.flatMap((p) => Object.keys(p.requests)));
  const s = new Scheduler(nodes, extra);
  const byName = new Map(nodes.map((n, i) => [n.name, i]));
  const placements: Placement[] = [];
  const out: Unschedulable[] = [];
  const pending: PodInput[] = [];
  const place = (pod: PodInput, n: number) => placements.push({ pod: pod.id, workload: pod.workload, node: nodes[n].name, ...(nodes[n].pool ? { pool: nodes[n].pool } : {}), epcBytes: pod.requests[EPC_RESOURCE] ?? 0 });
  const queue: PodInput[] = [];
  for (const pod of pods) {
    if (pod.refused !== undefined) {
      out.push(unschedulable(pod, nodes.length, {}, pod.refused));
      continue;
    }
    if (pod.nodeName !== undefined) {
      const n = byName.get(pod.nodeName);
      if (n !== undefined) {
        s.bindTo(pod, n);
        place(pod, n);
      } else out.push(unschedulable(pod, nodes.length, {}, `bound to node ${pod.nodeName}, which is not in the plan`));
      continue;
    }
    if (pod.daemon) {
      const tolerations = [...pod.tolerations, ...DAEMON_TOLERATIONS];
      const daemon: PodInput = { ...pod, tolerations, filterKey: filterKeyOf({ ...pod, tolerations }) };
      nodes.forEach((node, n) => {
        const one: PodInput = { ...daemon, id: `${pod.id}-${node.name}`, name: `${pod.name}-${node.name}` };
        if (!s.eligible(one, n)) return;
        const r = s.schedule(one, n);
        if ('node' in r) place(one, r.node);
        else {
          out.push(unschedulable(one, 1, r.reasons));
          pending.push(one);
        }
      });
      continue;
    }
    queue.push(pod);
  }
  // Array.prototype.sort is stable: input order is kept within a priority.
  queue.sort((a, b) => b.priority - a.priority);
  for (const pod of queue) {
    const r = s.schedule(pod);
    if ('node' in r) place(pod, r.node);
    else {
      out.push(unschedulable(pod, nodes.length, r.reasons));
      pending.push(pod);
    }
  }
  return { placements, unschedulable: out, pending, scheduler: s };
}

function usage(capacity: number, requested: number): Usage {
  return { capacity, requested, headroom: capacity - requested };
}

/** Capacity, requested and headroom per node after placement. */
export function nodeReports(s: Scheduler): NodeReport[] {
  return s.nodes.map((n, i) => {
    const r: NodeReport = {
      name: n.name,
      epc: usage(s.usage(i, EPC_RESOURCE).capacity, s.usage(i, EPC_RESOURCE).requested),
      cpu: usage(s.usage(i, 'cpu').capacity, s.usage(i, 'cpu').requested),
      memory: usage(s.usage(i, 'memory').capacity, s.usage(i, 'memory').requested),
      pods: usage(n.allocatable.pods ?? 110, s.podCount[i]),
    };
    if (n.pool) r.pool = n.pool;
    if (n.vmSize) r.vmSize = n.vmSize;
    return r;
  });
}
