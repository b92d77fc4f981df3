import type { KubeConfig } from '@kubernetes/client-node';
import { epcPressure, DEFAULT_POOL_LABELS, insufficientEpc, NO_POOL, poolOf, type NodeLike, type PoolPressure, type PressurePod } from '../autoscale/pressure.js';
import { EPC_RESOURCE } from '../kube/names.js';
import { isActivePod, podEpcRequestBytes } from '../kube/pod-requests.js';
import { quantityToBytes } from '../kube/quantity.js';
import { describeKubeError } from '../kube/client.js';
import { AttestationError } from '../attestation/errors.js';

/** One node's EPC as the dashboard shows it (docs/dashboard.md §Cluster). */
export interface NodeEpc {
  name: string;
  pool: string;
  capacityBytes: number;
  requestedBytes: number;
  /** Reported by the node agents when the service reads them; null otherwise. */
  usedBytes: number | null;
  pods: number;
}

export interface PendingPod {
  namespace: string;
  name: string;
  epcRequestBytes: number;
  /** The scheduler's PodScheduled=False message, or '' while it has said nothing. */
  message: string;
  insufficientEpc: boolean;
}

export interface ClusterSnapshot {
  readAt: number;
  nodes: NodeEpc[];
  pools: PoolPressure[];
  pending: PendingPod[];
}

/** Where the cluster page's numbers come from: the API server here, a fixed list in tests. */
export interface ClusterSource {
  nodesAndPods(): Promise<{ nodes: NodeLike[]; pods: PressurePod[] }>;
  /** EPC in use per node from the agents, when known. */
  usedByNode?(): Map<string, number> | null;
}

function epcOf(n: NodeLike): number {
  try {
    return quantityToBytes(n.status?.allocatable?.[EPC_RESOURCE] ?? '0');
  } catch {
    return 0;
  }
}

/** Nodes with EPC, pools (the autoscaler's own arithmetic: docs/autoscale.md §Pressure) and unscheduled pods. */
export function clusterSnapshot(nodes: NodeLike[], pods: PressurePod[], usedByNode: Map<string, number> | null, readAt: number): ClusterSnapshot {
  const byNode = new Map<string, NodeEpc>();
  for (const n of nodes) {
    const capacity = epcOf(n);
    if (capacity <= 0) continue;
    const name = n.metadata?.name ?? '';
    byNode.set(name, { name, pool: poolOf(n.metadata?.labels, DEFAULT_POOL_LABELS) ?? NO_POOL, capacityBytes: capacity, requestedBytes: 0, usedBytes: usedByNode?.get(name) ?? null, pods: 0 });
  }
  const pending: PendingPod[] = [];
  for (const p of pods) {
    if (!isActivePod(p)) continue;
    const node = p.spec?.nodeName;
    const req = podEpcRequestBytes(p);
    if (node) {
      const n = byNode.get(node);
      if (n) {
        n.requestedBytes += req;
        n.pods++;
      }
      continue;
    }
    const c = p.status?.conditions?.find((x) => x.type === 'PodScheduled');
    pending.push({
      namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', epcRequestBytes: req,
      message: c?.status === 'False' ? c.message ?? c.reason ?? '' : '', insufficientEpc: insufficientEpc(p),
    });
  }
  return {
    readAt, nodes: [...byNode.values()].sort((a, b) => a.pool.localeCompare(b.pool) || a.name.localeCompare(b.name)),
    pools: epcPressure(nodes, pods, usedByNode), pending: pending.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
  };
}

/** Nodes and pods from the API server's watch cache (resourceVersion=0), read when the page asks. */
export class KubeClusterSource implements ClusterSource {
  constructor(private readonly kc: KubeConfig) {}

  async nodesAndPods(): Promise<{ nodes: NodeLike[]; pods: PressurePod[] }> {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const core = this.kc.makeApiClient(CoreV1Api);
    try {
      const [nodes, pods] = await Promise.all([core.listNode({ resourceVersion: '0' }), core.listPodForAllNamespaces({ resourceVersion: '0' })]);
      return { nodes: nodes.items as unknown as NodeLike[], pods: pods.items as unknown as PressurePod[] };
    } catch (e) {
      throw new AttestationError(503, 'ClusterUnavailable', `the cluster's API server: ${describeKubeError(e)}`, 'ERR_CLUSTER_UNAVAILABLE');
    }
  }
}
