import { EPC_RESOURCE } from '../kube/names.js';
import { REASON_AFFINITY, REASON_TAINT, REASON_TOO_MANY_PODS, REASON_UNSCHEDULABLE, affinityMatches, firstUntolerated, insufficientReason, tolerates } from './filters.js';
import type { NodeShape, Taint } from './types.js';
import type { PodInput } from './workloads.js';

const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** kube-scheduler's defaults for how many feasible nodes one cycle looks for (docs/planner.md §Order and scoring). */
const MIN_FEASIBLE_NODES = 100;
const BASE_PERCENTAGE = 50;
const MIN_PERCENTAGE = 5;

export function feasibleNodesToFind(total: number): number {
  if (total < MIN_FEASIBLE_NODES) return total;
  const pct = Math.max(MIN_PERCENTAGE, BASE_PERCENTAGE - Math.trunc(total / 125));
  return Math.max(MIN_FEASIBLE_NODES, Math.trunc((total * pct) / 100));
}

/** LeastAllocated for one resource: the share left free, 0..100 (truncated, as the scheduler's int64 math). */
function least(req: number, alloc: number): number {
  return alloc === 0 || req > alloc ? 0 : Math.trunc(((alloc - req) * 100) / alloc);
}

/** Where one pod went, or why it went nowhere. */
export type Outcome = { node: number } | { reasons: Record<string, number> };

interface CompiledPod {
  idx: Int32Array;
  amt: Float64Array;
  staticKey: string;
}

/**
 * Nodes with what is requested on them, and one scheduling cycle per pod as kube-scheduler runs it for the
 * plugins the planner models: filters in the scheduler's order (NodeUnschedulable, TaintToleration,
 * NodeAffinity, NodeResourcesFit), a search that stops after `feasibleNodesToFind` feasible nodes and starts
 * where the last one stopped, and NodeResourcesFit LeastAllocated + NodeResourcesBalancedAllocation over cpu
 * and memory. Ties go to the first node found (the scheduler picks one of them at random).
 */
export class Scheduler {
  readonly nodes: readonly NodeShape[];
  readonly resources: string[];
  private readonly index = new Map<string, number>();
  /** Node-major: free[n * R + r]. */
  private readonly free: Float64Array;
  private readonly alloc: Float64Array;
  readonly podCount: Int32Array;
  private readonly maxPods: Float64Array;
  private readonly scoreCpu: Float64Array;
  private readonly scoreMem: Float64Array;
  private readonly allocCpu: Float64Array;
  private readonly allocMem: Float64Array;
  /** Per distinct (selector, affinity, tolerations): each node's static filter verdict, -1 = passes. */
  private readonly staticCache = new Map<string, Int32Array>();
  private readonly staticReasons: string[] = [];
  private nextStart = 0;

  constructor(nodes: readonly NodeShape[], extraResources: Iterable<string> = []) {
    this.nodes = nodes;
    const names = new Set<string>(['cpu', 'memory', EPC_RESOURCE, ...extraResources]);
    for (const n of nodes) {
      for (const k of Object.keys(n.allocatable)) names.add(k);
      for (const k of Object.keys(n.requested ?? {})) names.add(k);
    }
    names.delete('pods');
    this.resources = [...names];
    this.resources.forEach((r, i) => this.index.set(r, i));
    const R = this.resources.length;
    const N = nodes.length;
    this.free = new Float64Array(N * R);
    this.alloc = new Float64Array(N * R);
    this.podCount = new Int32Array(N);
    this.maxPods = new Float64Array(N);
    this.scoreCpu = new Float64Array(N);
    this.scoreMem = new Float64Array(N);
    this.allocCpu = new Float64Array(N);
    this.allocMem = new Float64Array(N);
    nodes.forEach((n, i) => {
      for (let r = 0; r < R; r++) {
        const name = this.resources[r];
        const a = n.allocatable[name] ?? 0;
        this.alloc[i * R + r] = a;
        this.free[i * R + r] = a - (n.requested?.[name] ?? 0);
      }
      this.podCount[i] = n.podCount ?? 0;
      this.maxPods[i] = n.allocatable.pods ?? 110;
      this.allocCpu[i] = n.allocatable.cpu ?? 0;
      this.allocMem[i] = n.allocatable.memory ?? 0;
      this.scoreCpu[i] = n.requested?.cpu ?? 0;
      this.scoreMem[i] = n.requested?.memory ?? 0;
    });
  }

  /** Requested, allocatable of one resource on one node. */
  usage(node: number, resource: string): { capacity: number; requested: number } {
    const r = this.index.get(resource);
    if (r === undefined) return { capacity: 0, requested: 0 };
    const R = this.resources.length;
    return { capacity: this.alloc[node * R + r], requested: this.alloc[node * R + r] - this.free[node * R + r] };
  }

  private compile(pod: PodInput): CompiledPod {
    const entries = Object.entries(pod.requests).filter(([k, v]) => k !== 'pods' && v > 0);
    const idx = new Int32Array(entries.length);
    const amt = new Float64Array(entries.length);
    entries.forEach(([k, v], i) => {
      let r = this.index.get(k);
      if (r === undefined) r = -1; // no node offers it at all
      idx[i] = r;
      amt[i] = v;
    });
    return { idx, amt, staticKey: pod.filterKey };
  }

  private reasonCode(reason: string): number {
    let i = this.staticReasons.indexOf(reason);
    if (i < 0) i = this.staticReasons.push(reason) - 1;
    return i;
  }

  private staticVerdicts(pod: PodInput, key: string): Int32Array {
    let v = this.staticCache.get(key);
    if (v) return v;
    v = new Int32Array(this.nodes.length);
    this.nodes.forEach((n, i) => {
      if (n.unschedulable && !pod.tolerations.some((t) => tolerates(t, UNSCHEDULABLE_TAINT))) v![i] = this.reasonCode(REASON_UNSCHEDULABLE);
      else {
        if (firstUntolerated(n.taints, pod.tolerations)) v![i] = this.reasonCode(REASON_TAINT);
        else if (!affinityMatches(pod.nodeSelector, pod.affinity, n.labels, n.name)) v![i] = this.reasonCode(REASON_AFFINITY);
        else v![i] = -1;
      }
    });
    this.staticCache.set(key, v);
    return v;
  }

  /** The node passes the filters that do not count resources (a DaemonSet's eligibility). */
  eligible(pod: PodInput, n: number): boolean {
    return this.staticVerdicts(pod, this.compile(pod).staticKey)[n] < 0;
  }

  private fits(c: CompiledPod, n: number): boolean {
    if (this.podCount[n] + 1 > this.maxPods[n]) return false;
    const base = n * this.resources.length;
    for (let k = 0; k < c.idx.length; k++) {
      const r = c.idx[k];
      if (r < 0 || c.amt[k] > this.free[base + r]) return false;
    }
    return true;
  }

  private fitReasons(c: CompiledPod, n: number, pod: PodInput, out: Record<string, number>): void {
    if (this.podCount[n] + 1 > this.maxPods[n]) out[REASON_TOO_MANY_PODS] = (out[REASON_TOO_MANY_PODS] ?? 0) + 1;
    const base = n * this.resources.length;
    const names = Object.keys(pod.requests).filter((k) => k !== 'pods' && pod.requests[k] > 0);
    for (let k = 0; k < c.idx.length; k++) {
      const r = c.idx[k];
      if (r < 0 || c.amt[k] > this.free[base + r]) {
        const reason = insufficientReason(names[k]);
        out[reason] = (out[reason] ?? 0) + 1;
      }
    }
  }

  /** NodeResourcesFit LeastAllocated + NodeResourcesBalancedAllocation, both weight 1, over cpu and memory. */
  private score(pod: PodInput, n: number): number {
    const ac = this.allocCpu[n];
    const am = this.allocMem[n];
    const rc = this.scoreCpu[n] + pod.score.cpu;
    const rm = this.scoreMem[n] + pod.score.memory;
    const leastAllocated = Math.trunc((least(rc, ac) + least(rm, am)) / 2);
    const fc = ac === 0 ? 1 : Math.min(rc / ac, 1);
    const fm = am === 0 ? 1 : Math.min(rm / am, 1);
    const balanced = Math.trunc((1 - Math.abs(fc - fm) / 2) * 100);
    return leastAllocated + balanced;
  }

  /** Why no node takes the pod: each node's first failing filter, counted. */
  diagnose(pod: PodInput, only?: number): Record<string, number> {
    const c = this.compile(pod);
    const verdicts = this.staticVerdicts(pod, c.staticKey);
    const reasons: Record<string, number> = {};
    for (let n = 0; n < this.nodes.length; n++) {
      if (only !== undefined && n !== only) continue;
      if (verdicts[n] >= 0) {
        const r = this.staticReasons[verdicts[n]];
        reasons[r] = (reasons[r] ?? 0) + 1;
      } else this.fitReasons(c, n, pod, reasons);
    }
    return reasons;
  }

  /** One scheduling cycle; `only` restricts it to one node (a DaemonSet pod). Binds the pod when it fits. */
  schedule(pod: PodInput, only?: number): Outcome {
    const c = this.compile(pod);
    const verdicts = this.staticVerdicts(pod, c.staticKey);
    const N = this.nodes.length;
    if (only !== undefined) {
      if (verdicts[only] < 0 && this.fits(c, only)) {
        this.bind(pod, c, only);
        return { node: only };
      }
      return { reasons: this.diagnose(pod, only) };
    }
    const want = feasibleNodesToFind(N);
    let best = -1;
    let bestScore = -1;
    let found = 0;
    let processed = 0;
    for (let i = 0; i < N && found < want; i++) {
      const n = (this.nextStart + i) % N;
      processed++;
      if (verdicts[n] >= 0 || !this.fits(c, n)) continue;
      found++;
      const s = this.score(pod, n);
      if (s > bestScore) {
        bestScore = s;
        best = n;
      }
    }
    if (N > 0) this.nextStart = (this.nextStart + processed) % N;
    if (best < 0) return { reasons: this.diagnose(pod) };
    this.bind(pod, c, best);
    return { node: best };
  }

  /** Count a pod on a node (a scheduled pod, or one already bound in the cluster). */
  bindTo(pod: PodInput, n: number): void {
    this.bind(pod, this.compile(pod), n);
  }

  private bind(pod: PodInput, c: CompiledPod, n: number): void {
    const base = n * this.resources.length;
    for (let k = 0; k < c.idx.length; k++) if (c.idx[k] >= 0) this.free[base + c.idx[k]] -= c.amt[k];
    this.podCount[n]++;
    this.scoreCpu[n] += pod.score.cpu;
    this.scoreMem[n] += pod.score.memory;
  }
}
