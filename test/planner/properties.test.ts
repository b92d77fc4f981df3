import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planFromObjects, type NodeShape, type Taint } from '../../src/planner/index.js';
import { affinityMatches, firstUntolerated, tolerates } from '../../src/planner/filters.js';
import { expandObjects } from '../../src/planner/workloads.js';

const MIB = 2 ** 20;
const TAINTS: Taint[] = [{ key: 'sgx', value: 'true', effect: 'NoSchedule' }, { key: 'spot', effect: 'NoExecute' }, { key: 'soft', effect: 'PreferNoSchedule' }];
const ZONES = ['a', 'b', 'c'];

const nodeArb = fc.record({
  epcMiB: fc.constantFrom(0, 0, 28, 168, 4096),
  cpu: fc.integer({ min: 1, max: 16 }),
  pods: fc.integer({ min: 1, max: 20 }),
  zone: fc.constantFrom(...ZONES),
  taint: fc.option(fc.constantFrom(...TAINTS), { nil: undefined }),
  cordoned: fc.boolean(),
});

const podArb = fc.record({
  epc: fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
  alias: fc.boolean(),
  cpuMilli: fc.integer({ min: 0, max: 3000 }),
  zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
  notZone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
  tolerate: fc.option(fc.constantFrom(...TAINTS.map((t) => t.key), '*'), { nil: undefined }),
  replicas: fc.integer({ min: 1, max: 4 }),
  priority: fc.integer({ min: 0, max: 2 }),
});

type NodeDef = typeof nodeArb extends fc.Arbitrary<infer T> ? T : never;
type PodDef = typeof podArb extends fc.Arbitrary<infer T> ? T : never;

/** A cordoned node takes pods tolerating its unschedulable taint (kube-scheduler's NodeUnschedulable). */
const cordonOk = (n: NodeShape, tolerations: Parameters<typeof firstUntolerated>[1]) => !n.unschedulable || tolerations.some((t) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }));

function nodes(defs: NodeDef[]): NodeShape[] {
  return defs.map((d, i) => ({
    name: `n${i}`,
    labels: { zone: d.zone, 'kubernetes.io/hostname': `n${i}` },
    taints: d.taint ? [d.taint] : [],
    allocatable: { cpu: d.cpu * 1000, memory: 64 * 2 ** 30, pods: d.pods, ...(d.epcMiB ? { 'sgx.intel.com/epc': d.epcMiB * MIB, 'sgx.intel.com/enclave': 110 } : {}) },
    ...(d.cordoned ? { unschedulable: true } : {}),
  }));
}

function objects(defs: PodDef[]): object[] {
  return defs.map((d, i) => {
    const limits: Record<string, string | number> = {};
    if (d.epc) limits[d.alias ? 'sgx.intel.com/sgx_epc_mem_in_MiB' : 'sgx.intel.com/epc'] = d.alias ? d.epc : `${d.epc}Mi`;
    const spec: Record<string, unknown> = { priority: d.priority, containers: [{ name: 'c', resources: { limits, requests: d.cpuMilli ? { cpu: `${d.cpuMilli}m` } : {} } }] };
    if (d.zone) spec.nodeSelector = { zone: d.zone };
    if (d.notZone) spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: [d.notZone] }] }] } } };
    if (d.tolerate) spec.tolerations = [d.tolerate === '*' ? { operator: 'Exists' } : { key: d.tolerate, operator: 'Exists' }];
    return { kind: 'Deployment', metadata: { name: `w${i}` }, spec: { replicas: d.replicas, template: { spec } } };
  });
}

test('every placement passes the filters and fits; no node could take a pod left unschedulable; the recommendation holds what it says', () => {
  fc.assert(
    fc.property(fc.array(nodeArb, { minLength: 1, maxLength: 8 }), fc.array(podArb, { minLength: 1, maxLength: 10 }), (nd, pd) => {
      const target = nodes(nd);
      const objs = objects(pd);
      const r = planFromObjects(objs, { nodes: target });
      const pods = new Map(expandObjects(objs, { webhook: {} }, []).map((p) => [p.id, p]));
      const used = new Map<string, Record<string, number>>();
      for (const pl of r.placements) {
        const p = pods.get(pl.pod)!;
        const n = target.find((x) => x.name === pl.node)!;
        assert.ok(cordonOk(n, p.tolerations), `${pl.pod} on cordoned ${n.name}`);
        assert.equal(firstUntolerated(n.taints, p.tolerations), null, `${pl.pod} on tainted ${n.name}`);
        assert.ok(affinityMatches(p.nodeSelector, p.affinity, n.labels, n.name), `${pl.pod} on unmatched ${n.name}`);
        const u = used.get(n.name) ?? { pods: 0 };
        for (const [k, v] of Object.entries(p.requests)) u[k] = (u[k] ?? 0) + v;
        u.pods++;
        used.set(n.name, u);
      }
      for (const [name, u] of used) {
        const n = target.find((x) => x.name === name)!;
        for (const [k, v] of Object.entries(u)) assert.ok(v <= (n.allocatable[k] ?? 0), `${name}: ${k} ${v} > ${n.allocatable[k]}`);
      }
      // Capacity only shrinks while pods are placed: a pod no node took in its cycle fits no node at the end either.
      for (const un of r.unschedulable) {
        const p = pods.get(un.pod)!;
        for (const n of target) {
          const u = used.get(n.name) ?? { pods: 0 };
          const fits = cordonOk(n, p.tolerations) && !firstUntolerated(n.taints, p.tolerations) && affinityMatches(p.nodeSelector, p.affinity, n.labels, n.name) && u.pods + 1 <= n.allocatable.pods && Object.entries(p.requests).every(([k, v]) => (u[k] ?? 0) + v <= (n.allocatable[k] ?? 0));
          assert.ok(!fits, `${un.pod} (${un.reason}) fits ${n.name}`);
        }
        assert.match(un.reason, new RegExp(`^0/${target.length} nodes are available: `));
      }
      const rec = r.recommendation!;
      if (rec.fits) {
        const again = planFromObjects(objs, { nodes: target, pools: rec.pools.map((p) => ({ name: p.name, vmSize: p.vmSize, count: p.count, labels: p.labels, taints: p.taints })) }, { recommend: false });
        assert.deepEqual(again.unschedulable, [], 'the recommended pools hold every pod');
      } else assert.ok(rec.unfit.length > 0 || r.unschedulable.length > 0);
    }),
    { numRuns: 150 },
  );
});
