import { EPC_RESOURCE } from '../kube/names.js';
import { isActivePod, podEpcRequestBytes, type PodLike } from '../kube/pod-requests.js';
import { quantityToBytes } from '../kube/quantity.js';

/** The node labels that name a pool, tried in order (AKS sets both; docs/autoscale.md §Pressure). */
export const DEFAULT_POOL_LABELS = ['agentpool', 'kubernetes.azure.com/agentpool'];
export const NO_POOL = '(none)';
export const UNASSIGNED = '(unscheduled)';

export interface NodeLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { allocatable?: Record<string, string> };
}

export interface PressurePod extends PodLike {
  spec?: PodLike['spec'] & { nodeSelector?: Record<string, string> };
  status?: { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

export interface PoolPressure {
  pool: string;
  nodes: number;
  allocatableBytes: number;
  requestedBytes: number;
  /** Bytes the agents report in use on the pool's nodes; null when no agent of the pool was read. */
  usedBytes: number | null;
  freeBytes: number;
  /** requested ÷ allocatable (0 for a pool without EPC). */
  requestedRatio: number;
  /** Unscheduled pods the scheduler turned away for `Insufficient sgx.intel.com/epc`. */
  pendingInsufficientEpc: number;
  /** Unscheduled pods that request EPC, whatever the scheduler said. */
  pendingRequestingEpc: number;
}

export function poolOf(labels: Record<string, string> | undefined, poolLabels: string[]): string | undefined {
  for (const l of poolLabels) if (labels?.[l]) return labels[l];
  return undefined;
}

function epcOf(n: NodeLike): number {
  try {
    return quantityToBytes(n.status?.allocatable?.[EPC_RESOURCE] ?? '0');
  } catch {
    return 0;
  }
}

/** The scheduler's verdict on an unscheduled pod (PodScheduled=False, reason Unschedulable). */
export function insufficientEpc(p: PressurePod): boolean {
  const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
  return c?.status === 'False' && c.reason === 'Unschedulable' && (c.message ?? '').includes(`Insufficient ${EPC_RESOURCE}`);
}

/**
 * Per node pool: EPC allocatable, requested by active pods, used (as the agents report it, by node) and free,
 * and pods pending on EPC. A pending pod counts in the pool its nodeSelector names, else in `(unscheduled)`.
 * Only nodes with EPC form pools.
 */
export function epcPressure(nodes: NodeLike[], pods: PressurePod[], usedByNode: Map<string, number> | null, poolLabels = DEFAULT_POOL_LABELS): PoolPressure[] {
  const pools = new Map<string, PoolPressure>();
  const pool = (name: string): PoolPressure => {
    let p = pools.get(name);
    if (!p) {
      p = { pool: name, nodes: 0, allocatableBytes: 0, requestedBytes: 0, usedBytes: null, freeBytes: 0, requestedRatio: 0, pendingInsufficientEpc: 0, pendingRequestingEpc: 0 };
      pools.set(name, p);
    }
    return p;
  };
  const nodePool = new Map<string, string>();
  for (const n of nodes) {
    const bytes = epcOf(n);
    if (bytes <= 0) continue;
    const name = poolOf(n.metadata?.labels, poolLabels) ?? NO_POOL;
    nodePool.set(n.metadata?.name ?? '', name);
    const p = pool(name);
    p.nodes++;
    p.allocatableBytes += bytes;
    const used = usedByNode?.get(n.metadata?.name ?? '');
    if (used !== undefined) p.usedBytes = (p.usedBytes ?? 0) + used;
  }
  for (const pod of pods) {
    if (!isActivePod(pod)) continue;
    const req = podEpcRequestBytes(pod);
    const node = pod.spec?.nodeName;
    if (node) {
      const name = nodePool.get(node);
      if (name !== undefined && req > 0) pool(name).requestedBytes += req;
      continue;
    }
    const short = insufficientEpc(pod);
    if (req <= 0 && !short) continue;
    const p = pool(poolOf(pod.spec?.nodeSelector, poolLabels) ?? UNASSIGNED);
    if (short) p.pendingInsufficientEpc++;
    if (req > 0) p.pendingRequestingEpc++;
  }
  for (const p of pools.values()) {
    p.freeBytes = Math.max(0, p.allocatableBytes - p.requestedBytes);
    p.requestedRatio = p.allocatableBytes > 0 ? p.requestedBytes / p.allocatableBytes : 0;
  }
  return [...pools.values()].sort((a, b) => a.pool.localeCompare(b.pool));
}
