// EPC pressure per node pool against sums computed here from the same fixtures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { epcPressure, type NodeLike, type PressurePod } from '../../src/autoscale/pressure.js';
import { PressureMetrics } from '../../src/autoscale/pressure-metrics.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const node = (name: string, labels: Record<string, string>, epc?: string): NodeLike => ({ metadata: { name, labels }, status: { allocatable: epc ? { 'sgx.intel.com/epc': epc, cpu: '4' } : { cpu: '4' } } });
const pod = (name: string, nodeName: string | undefined, epcMiB: number, extra: Partial<PressurePod> = {}): PressurePod => ({
  metadata: { name, namespace: 'shop', uid: name },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', resources: epcMiB ? { limits: { 'sgx.intel.com/epc': `${epcMiB}Mi` } } : {} }], ...(extra.spec ?? {}) },
  status: extra.status ?? { phase: nodeName ? 'Running' : 'Pending' },
});
const unschedulable = (message: string) => ({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] });

const nodes = [
  node('sgx-a', { agentpool: 'sgxpool' }, '8Gi'),
  node('sgx-b', { 'kubernetes.azure.com/agentpool': 'sgxpool' }, '8Gi'),
  node('sgx-c', { agentpool: 'bigsgx' }, `${64 * 1024}Mi`),
  node('plain', { agentpool: 'system' }),
  node('loose', {}, '1Gi'),
];
const pods = [
  pod('a1', 'sgx-a', 2048),
  pod('a2', 'sgx-a', 1024, { status: { phase: 'Succeeded' } }),
  pod('b1', 'sgx-b', 4096),
  pod('c1', 'sgx-c', 512),
  pod('web', 'plain', 0),
  pod('big', undefined, 16 * 1024, { spec: { nodeSelector: { agentpool: 'sgxpool' } } as never, status: unschedulable('0/5 nodes are available: 3 Insufficient sgx.intel.com/epc, 2 node(s) didn\'t match Pod\'s node affinity/selector.') }),
  pod('any', undefined, 64, { status: unschedulable('0/5 nodes are available: 5 Insufficient cpu.') }),
  pod('plainpending', undefined, 0, { status: unschedulable('0/5 nodes are available: 5 Insufficient cpu.') }),
];

describe('epc pressure', () => {
  it('per pool: allocatable, requested by active pods, used from the agents, free; pending pods by pool', () => {
    const used = new Map([['sgx-a', 1 * GIB], ['sgx-b', 3 * GIB]]);
    const pools = epcPressure(nodes, pods, used);
    const by = Object.fromEntries(pools.map((p) => [p.pool, p]));
    assert.deepEqual(Object.keys(by).sort(), ['(none)', '(unscheduled)', 'bigsgx', 'sgxpool']);
    assert.deepEqual(by.sgxpool, {
      pool: 'sgxpool', nodes: 2, allocatableBytes: 16 * GIB, requestedBytes: 6 * GIB, usedBytes: 4 * GIB, freeBytes: 10 * GIB,
      requestedRatio: 6 / 16, pendingInsufficientEpc: 1, pendingRequestingEpc: 1,
    });
    assert.equal(by.bigsgx!.usedBytes, null, 'no agent read: unknown, not zero');
    assert.equal(by.bigsgx!.requestedBytes, 512 * MIB);
    assert.equal(by['(none)']!.allocatableBytes, GIB);
    assert.equal(by['(unscheduled)']!.pendingInsufficientEpc, 0);
    assert.equal(by['(unscheduled)']!.pendingRequestingEpc, 1);
  });

  it('a configured pool label wins; the gauges carry every pool', async () => {
    const pools = epcPressure(nodes, pods, null, ['kubernetes.azure.com/agentpool']);
    assert.equal(pools.find((p) => p.pool === 'sgxpool')!.nodes, 1);
    const m = new PressureMetrics();
    m.set(epcPressure(nodes, pods, null));
    const text = await m.registry.metrics();
    assert.match(text, /confkube_epc_pool_allocatable_bytes\{pool="sgxpool"\} 17179869184/);
    assert.match(text, /confkube_epc_pool_pending_pods\{pool="sgxpool",reason="insufficient_epc"\} 1/);
    assert.doesNotMatch(text, /confkube_epc_pool_used_bytes\{/);
  });
});
