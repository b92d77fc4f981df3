import { EPC_RESOURCE } from '../kube/names.js';
import { formatBytes } from '../admission/epc-quantity.js';
import { nodesOfPool, poolName } from './catalogue.js';
import { placeAll } from './place.js';
import type { Catalogue, NodeShape, PoolSpec, RecommendOptions, Recommendation, RecommendedPool, Taint, VmSize } from './types.js';
import type { PodInput } from './workloads.js';

/** AKS's limit of nodes per pool. */
const MAX_POOL_NODES = 1000;
/** Rounds of "one more node where pods are still left over" before the recommendation gives up. */
const MAX_ROUNDS = 64;

interface Group {
  sgx: boolean;
  labels: Record<string, string>;
  pods: PodInput[];
}

/** Labels a new pool needs for the group's pods: their nodeSelector, and single-value `In` terms of a one-term affinity. */
function labelsFor(pod: PodInput): Record<string, string> {
  const labels = { ...pod.nodeSelector };
  const terms = pod.affinity?.nodeSelectorTerms ?? [];
  if (terms.length === 1) for (const r of terms[0].matchExpressions ?? []) if (r.operator === 'In' && r.values?.length === 1) labels[r.key] = r.values[0];
  return labels;
}

function groups(pods: readonly PodInput[]): Group[] {
  const m = new Map<string, Group>();
  for (const p of pods) {
    const labels = labelsFor(p);
    const key = JSON.stringify([p.sgx, Object.entries(labels).sort()]);
    let g = m.get(key);
    if (!g) m.set(key, (g = { sgx: p.sgx, labels, pods: [] }));
    g.pods.push(p);
  }
  return [...m.values()];
}

const costOf = (s: VmSize) => s.pricePerHour ?? s.relativeCost;

/** Nodes of `size` the group needs at least (resource sums and pod counts); null when one pod fits no such node. */
function lowerBound(catalogue: Catalogue, size: VmSize, g: Group, pool: PoolSpec): number | null {
  const one = nodesOfPool(catalogue, { ...pool, vmSize: size.name, count: 1 });
  // Replicas of one template ask for the same: each distinct pod is tried once on an empty node.
  const distinct = new Map<string, PodInput>();
  for (const p of g.pods) distinct.set(`${p.filterKey}|${JSON.stringify(p.requests)}`, p);
  for (const p of distinct.values()) if (placeAll([p], one).unschedulable.length > 0) return null;
  const alloc = one[0].allocatable;
  let lower = Math.max(1, Math.ceil(g.pods.length / (alloc.pods ?? 110)));
  for (const [r, a] of Object.entries(alloc)) {
    if (r === 'pods') continue;
    const sum = g.pods.reduce((t, p) => t + (p.requests[r] ?? 0), 0);
    if (sum > 0) lower = Math.max(lower, Math.ceil(sum / a));
  }
  return lower;
}

/** The fewest nodes of `size` (from `lower` up) that hold every pod of the group by the scheduler's rules; null above AKS's pool limit. */
function countFor(catalogue: Catalogue, size: VmSize, g: Group, pool: PoolSpec, lower: number): number | null {
  const fits = (n: number) => placeAll(g.pods, nodesOfPool(catalogue, { ...pool, vmSize: size.name, count: n })).unschedulable.length === 0;
  if (fits(lower)) return lower;
  // Gallop, then bisect: more nodes of one size never hold fewer pods.
  let lo = lower;
  let hi = lower;
  do {
    lo = hi;
    hi = Math.min(MAX_POOL_NODES, hi * 2);
    if (hi === lo) return null;
  } while (!fits(hi));
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

function azLine(p: RecommendedPool, o: RecommendOptions, maxPods: number): string {
  const parts = ['az aks nodepool add', `--cluster-name ${o.clusterName ?? '<cluster>'}`, `--resource-group ${o.resourceGroup ?? '<resource-group>'}`, `--name ${p.name}`, `--node-vm-size ${p.vmSize}`, `--node-count ${p.count}`, `--max-pods ${maxPods}`];
  const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`);
  if (labels.length) parts.push(`--labels ${labels.join(' ')}`);
  if (p.taints.length) parts.push(`--node-taints ${p.taints.map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`).join(',')}`);
  return parts.join(' ');
}

/**
 * The cheapest pools to add so that every pending pod fits (docs/planner.md §Recommendation): pending pods
 * grouped by SGX or not and by the labels they select; per group the catalogue size with the lowest
 * count × cost (price per hour, else relative cost); then the whole plan is run again with the new pools
 * beside the existing nodes, and pools whose pods still do not fit grow one node at a time.
 */
export function recommend(allPods: readonly PodInput[], pending: readonly PodInput[], existing: readonly NodeShape[], catalogue: Catalogue, o: RecommendOptions = {}): Recommendation {
  const allowed = o.sizes ? catalogue.sizes.filter((s) => o.sizes!.includes(s.name)) : catalogue.sizes;
  const plainSizes = allowed.filter((s) => s.epcBytes === 0);
  const sgxSizes = allowed.filter((s) => s.epcBytes > 0);
  const pools: (RecommendedPool & { group: Group })[] = [];
  const unfit: Recommendation['unfit'] = [];
  const taken = new Set(existing.map((n) => n.pool).filter((p): p is string => p !== undefined));
  let i = 0;
  for (const g of groups(pending)) {
    const taints: Taint[] = g.sgx && o.sgxTaint ? [o.sgxTaint] : [];
    let name: string;
    do name = poolName(`${g.sgx ? 'sgx' : 'app'}${++i}`);
    while (taken.has(name));
    taken.add(name);
    const spec: PoolSpec = { name, vmSize: '', count: 1, labels: g.labels, taints };
    const candidates = g.sgx ? sgxSizes : plainSizes.length ? plainSizes : allowed;
    let best: { size: VmSize; count: number } | null = null;
    // Cheapest lower bound first: a size whose lower bound already costs more than the best found is skipped.
    const bounded = candidates.map((size) => ({ size, lower: lowerBound(catalogue, size, g, spec) })).filter((c): c is { size: VmSize; lower: number } => c.lower !== null);
    bounded.sort((a, b) => a.lower * costOf(a.size) - b.lower * costOf(b.size));
    for (const { size, lower } of bounded) {
      if (best && lower * costOf(size) > best.count * costOf(best.size)) break;
      const count = countFor(catalogue, size, g, spec, lower);
      if (count === null) continue;
      if (!best || count * costOf(size) < best.count * costOf(best.size) || (count * costOf(size) === best.count * costOf(best.size) && count < best.count)) best = { size, count };
    }
    if (!best) {
      const largest = Math.max(0, ...candidates.map((s) => s.epcBytes));
      for (const p of g.pods) {
        const epc = p.requests[EPC_RESOURCE] ?? 0;
        unfit.push({ pod: p.id, reason: epc > largest ? `asks for ${formatBytes(epc)} of EPC; the largest catalogue size offers ${formatBytes(largest)}` : 'fits no single node of any catalogue size (cpu, memory or pods per node)' });
      }
      continue;
    }
    pools.push({ name, vmSize: best.size.name, count: best.count, labels: g.labels, taints, relativeCost: best.count * best.size.relativeCost, ...(best.size.pricePerHour !== undefined ? { pricePerHour: best.count * best.size.pricePerHour } : {}), group: g });
  }
  // Pods share the new nodes with each other and with the existing ones: check the whole plan, grow what falls short.
  const unfitIds = new Set(unfit.map((u) => u.pod));
  const toPlace = allPods.filter((p) => !unfitIds.has(p.id));
  const withPools = () => [...existing, ...pools.flatMap((p) => nodesOfPool(catalogue, { name: p.name, vmSize: p.vmSize, count: p.count, labels: p.labels, taints: p.taints }))];
  let fits = false;
  for (let round = 0; round < MAX_ROUNDS && pools.length > 0; round++) {
    const left = placeAll(toPlace, withPools()).pending;
    if (left.length === 0) {
      fits = true;
      break;
    }
    let grew = false;
    for (const p of pools) {
      if (p.count < MAX_POOL_NODES && left.some((x) => x.sgx === p.group.sgx && p.group.pods.some((y) => y.workload === x.workload))) {
        p.count++;
        grew = true;
      }
    }
    if (!grew) {
      for (const p of pools) {
        if (p.count < MAX_POOL_NODES && left.some((x) => x.sgx === p.group.sgx)) {
          p.count++;
          grew = true;
        }
      }
    }
    if (!grew) break;
  }
  if (pools.length === 0) fits = pending.length === 0;
  const sizeOf = new Map(catalogue.sizes.map((s) => [s.name, s]));
  const out: RecommendedPool[] = pools.map(({ group: _g, ...p }) => {
    const size = sizeOf.get(p.vmSize)!;
    const r: RecommendedPool = { ...p, relativeCost: p.count * size.relativeCost };
    if (size.pricePerHour !== undefined) r.pricePerHour = p.count * size.pricePerHour;
    return r;
  });
  const rec: Recommendation = {
    fits: fits && unfit.length === 0,
    pools: out,
    relativeCost: out.reduce((t, p) => t + p.relativeCost, 0),
    commands: out.map((p) => azLine(p, o, sizeOf.get(p.vmSize)!.maxPods ?? catalogue.maxPods)),
    unfit,
  };
  if (out.length > 0 && out.every((p) => p.pricePerHour !== undefined)) {
    rec.pricePerHour = out.reduce((t, p) => t + p.pricePerHour!, 0);
    if (catalogue.currency) rec.currency = catalogue.currency;
  }
  return rec;
}
