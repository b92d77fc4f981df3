import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { Gauge, Registry } from 'prom-client';
import { epcPressure, type NodeLike, type PoolPressure, type PressurePod } from './pressure.js';

/** Nodes and pods as `epc pressure` reads them: two lists from the API server's watch cache. */
export async function listForPressure(kc: KubeConfig): Promise<{ nodes: NodeLike[]; pods: PressurePod[] }> {
  const core = kc.makeApiClient(CoreV1Api);
  const [nodes, pods] = await Promise.all([core.listNode({ resourceVersion: '0' }), core.listPodForAllNamespaces({ resourceVersion: '0' })]);
  return { nodes: nodes.items as unknown as NodeLike[], pods: pods.items as unknown as PressurePod[] };
}

/** The pool gauges (docs/autoscale.md §Pressure); alert rules in deploy/prometheus/ read them. */
export class PressureMetrics {
  readonly registry = new Registry();
  private readonly gauges: Record<'allocatable' | 'requested' | 'used' | 'free', Gauge>;
  private readonly pending: Gauge;

  constructor() {
    const g = (name: string, help: string): Gauge => new Gauge({ name, help, labelNames: ['pool'], registers: [this.registry] });
    this.gauges = {
      allocatable: g('confkube_epc_pool_allocatable_bytes', 'EPC allocatable on the pool\'s nodes.'),
      requested: g('confkube_epc_pool_requested_bytes', 'EPC requested by active pods on the pool\'s nodes.'),
      used: g('confkube_epc_pool_used_bytes', 'EPC in use on the pool\'s nodes as the node agents report it.'),
      free: g('confkube_epc_pool_free_bytes', 'EPC allocatable and not requested on the pool\'s nodes.'),
    };
    this.pending = new Gauge({ name: 'confkube_epc_pool_pending_pods', help: 'Unscheduled pods: reason="insufficient_epc" the scheduler turned them away for EPC, reason="requests_epc" they request EPC.', labelNames: ['pool', 'reason'], registers: [this.registry] });
  }

  set(pools: PoolPressure[]): void {
    for (const g of [...Object.values(this.gauges), this.pending]) g.reset();
    for (const p of pools) {
      this.gauges.allocatable.set({ pool: p.pool }, p.allocatableBytes);
      this.gauges.requested.set({ pool: p.pool }, p.requestedBytes);
      if (p.usedBytes !== null) this.gauges.used.set({ pool: p.pool }, p.usedBytes);
      this.gauges.free.set({ pool: p.pool }, p.freeBytes);
      this.pending.set({ pool: p.pool, reason: 'insufficient_epc' }, p.pendingInsufficientEpc);
      this.pending.set({ pool: p.pool, reason: 'requests_epc' }, p.pendingRequestingEpc);
    }
  }

  async refresh(kc: KubeConfig, usedByNode: Map<string, number> | null, poolLabels?: string[]): Promise<PoolPressure[]> {
    const { nodes, pods } = await listForPressure(kc);
    const pools = epcPressure(nodes, pods, usedByNode, poolLabels);
    this.set(pools);
    return pools;
  }
}
