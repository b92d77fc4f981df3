import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { fixturePath } from '../helpers/fixtures.js';
import { BUILTIN_CATALOGUE, loadCatalogue, parseCatalogue, planFromObjects, PlannerError, type NodeShape, type PlanResult } from '../../src/planner/index.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
// The FAQ's `image: oeciteam/sgx-test: 1.0` is no valid YAML (nor kubectl input): the space is dropped, nothing else.
const faqJob = loadAllYaml(readFileSync(fixturePath('admission/faq-sgx-test-job.yaml'), 'utf8').replace('oeciteam/sgx-test: 1.0', 'oeciteam/sgx-test:1.0'))[0] as object;

function node(name: string, o: Partial<NodeShape> & { epcMiB?: number; cpu?: number; memGiB?: number; pods?: number } = {}): NodeShape {
  const allocatable: Record<string, number> = { cpu: (o.cpu ?? 4) * 1000, memory: (o.memGiB ?? 16) * GIB, pods: o.pods ?? 110 };
  if (o.epcMiB) Object.assign(allocatable, { 'sgx.intel.com/epc': o.epcMiB * MIB, 'sgx.intel.com/enclave': 110, 'sgx.intel.com/provision': 110 });
  return { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) }, taints: o.taints ?? [], allocatable, pool: o.pool, ...(o.unschedulable ? { unschedulable: true } : {}) };
}

function pod(name: string, o: { epc?: string; alias?: number; cpu?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; affinity?: unknown; kind?: string; replicas?: number } = {}): object {
  const limits: Record<string, string | number> = {};
  if (o.epc) limits['sgx.intel.com/epc'] = o.epc;
  if (o.alias !== undefined) limits['sgx.intel.com/sgx_epc_mem_in_MiB'] = o.alias;
  const spec = {
    containers: [{ name: 'app', image: 'app:1', resources: { limits, requests: o.cpu ? { cpu: o.cpu } : {} } }],
    ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
    ...(o.tolerations ? { tolerations: o.tolerations } : {}),
    ...(o.affinity ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: o.affinity } } } : {}),
  };
  if (!o.kind || o.kind === 'Pod') return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec };
  return { apiVersion: 'apps/v1', kind: o.kind, metadata: { name }, spec: { replicas: o.replicas ?? 1, template: { metadata: {}, spec } } };
}

const nodeOf = (r: PlanResult, id: string) => r.placements.find((p) => p.pod === id)?.node;

test('the AKS FAQ Job lands on an SGX pool and never on a plain one, whatever the order and sizes of the pools', () => {
  for (const pools of [
    [{ name: 'plain', vmSize: 'plain-big', count: 3 }, { name: 'sgx', vmSize: 'Standard_DC2s_v2', count: 1 }],
    [{ name: 'sgx', vmSize: 'Standard_DC4s_v3', count: 1 }, { name: 'plain', vmSize: 'plain-big', count: 1 }],
  ]) {
    const catalogue = parseCatalogue({ extends: 'built-in', sizes: [{ name: 'plain-big', vCpus: 64, memory: '512Gi' }] }, 'test');
    const r = planFromObjects([faqJob], { pools }, { catalogue });
    assert.equal(r.placements.length, 1);
    assert.equal(r.placements[0].pool, 'sgx');
    assert.equal(r.placements[0].workload, 'Job/sgx-test');
    assert.equal(r.placements[0].epcBytes, 10 * MIB, 'the FAQ alias (10 MiB) normalised as the webhook does');
    assert.deepEqual(r.unschedulable, []);
  }
  // Only plain nodes: Pending, for the reason the scheduler gives, and the recommendation is an SGX pool.
  const r = planFromObjects([faqJob], { nodes: [node('plain-1'), node('plain-2')] });
  assert.equal(r.placements.length, 0);
  assert.equal(r.unschedulable[0].reason, '0/2 nodes are available: 2 Insufficient sgx.intel.com/enclave, 2 Insufficient sgx.intel.com/epc.');
  const rec = r.recommendation!;
  assert.equal(rec.fits, true);
  assert.equal(rec.pools.length, 1);
  assert.equal(rec.pools[0].vmSize, 'Standard_DC1s_v2', 'the cheapest size holding 10 MiB of EPC');
  assert.equal(rec.pools[0].count, 1);
  assert.equal(rec.commands[0], 'az aks nodepool add --cluster-name <cluster> --resource-group <resource-group> --name sgx1 --node-vm-size Standard_DC1s_v2 --node-count 1 --max-pods 110');
});

test('without the webhook the FAQ alias is a resource no node offers (the planner shows what a cluster without confkube does)', () => {
  const r = planFromObjects([faqJob], { nodes: [node('sgx-1', { epcMiB: 168 })] }, { webhook: false, recommend: false });
  assert.equal(r.unschedulable[0].reason, '0/1 nodes are available: 1 Insufficient sgx.intel.com/sgx_epc_mem_in_MiB.');
});

test('EPC aliases and the canonical name count the same; EPC is summed per node and the headroom reported', () => {
  const objs = [pod('a', { alias: 40 }), pod('b', { epc: '40Mi' }), pod('c', { epc: String(40 * MIB) })];
  const r = planFromObjects(objs, { nodes: [node('sgx-1', { epcMiB: 112 })] }, { recommend: false });
  assert.deepEqual(r.placements.map((p) => p.epcBytes), [40 * MIB, 40 * MIB]);
  assert.equal(r.unschedulable.length, 1);
  assert.equal(r.unschedulable[0].pod, 'default/c');
  assert.equal(r.unschedulable[0].reason, '0/1 nodes are available: 1 Insufficient sgx.intel.com/epc.');
  assert.deepEqual(r.nodes[0].epc, { capacity: 112 * MIB, requested: 80 * MIB, headroom: 32 * MIB });
});

test('a pod the webhook refuses is unschedulable with the webhook\'s reason, and nothing is placed for it', () => {
  const bad = pod('bad', { epc: '10Mi' }) as { spec: { containers: { resources: { limits: Record<string, string> } }[] } };
  bad.spec.containers[0].resources.limits['sgx.intel.com/sgx_epc_mem_in_MiB'] = '10Mi';
  const r = planFromObjects([bad], { nodes: [node('sgx-1', { epcMiB: 112 })] }, { recommend: false });
  assert.equal(r.placements.length, 0);
  assert.match(r.unschedulable[0].reason, /^refused by the confkube webhook: .*counts MiB/);
});

test('taints: NoSchedule and NoExecute keep pods off unless tolerated; PreferNoSchedule does not; the reason is the scheduler\'s', () => {
  const nodes = [node('t1', { epcMiB: 168, taints: [{ key: 'sgx', value: 'true', effect: 'NoSchedule' }] }), node('t2', { epcMiB: 168, taints: [{ key: 'dedicated', effect: 'NoExecute' }] }), node('p', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })];
  let r = planFromObjects([pod('s', { epc: '1Mi' })], { nodes }, { recommend: false });
  // kube-scheduler 1.36's words (checked against the real scheduler in test/e2e/planner.test.ts).
  assert.equal(r.unschedulable[0].reason, '0/3 nodes are available: 1 Insufficient sgx.intel.com/enclave, 1 Insufficient sgx.intel.com/epc, 2 node(s) had untolerated taint(s).');
  r = planFromObjects([pod('s', { epc: '1Mi', tolerations: [{ key: 'sgx', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] })], { nodes }, { recommend: false });
  assert.equal(nodeOf(r, 'default/s'), 't1');
  r = planFromObjects([pod('s', { epc: '1Mi', tolerations: [{ key: 'sgx', operator: 'Equal', value: 'false' }] })], { nodes }, { recommend: false });
  assert.equal(r.placements.length, 0, 'a toleration with another value does not match');
  r = planFromObjects([pod('s', { epc: '1Mi', tolerations: [{ operator: 'Exists' }] })], { nodes: nodes.slice(1, 2) }, { recommend: false });
  assert.equal(nodeOf(r, 'default/s'), 't2', 'an empty key with Exists tolerates everything');
  r = planFromObjects([pod('plain')], { nodes: nodes.slice(2) }, { recommend: false });
  assert.equal(nodeOf(r, 'default/plain'), 'p');
  // The webhook's SGX toleration (from the recommendation's SGX taint) lets SGX pods onto the tainted pool.
  r = planFromObjects([pod('s', { epc: '1Mi' })], { nodes: nodes.slice(0, 1) }, { recommend: { sgxTaint: { key: 'sgx', value: 'true', effect: 'NoSchedule' } } });
  assert.equal(nodeOf(r, 'default/s'), 't1');
});

test('nodeSelector and required node affinity: In, NotIn, Exists, DoesNotExist, Gt, Lt; terms ORed, expressions ANDed', () => {
  const nodes = [node('a', { labels: { zone: 'a', gen: '3' } }), node('b', { labels: { zone: 'b', gen: '2', spot: 'yes' } })];
  const where = (affinity: unknown, nodeSelector?: Record<string, string>) => {
    const r = planFromObjects([pod('x', { affinity, nodeSelector })], { nodes }, { recommend: false });
    return r.placements[0]?.node ?? r.unschedulable[0].reason;
  };
  const term = (...e: unknown[]) => ({ nodeSelectorTerms: [{ matchExpressions: e }] });
  assert.equal(where(undefined, { zone: 'b' }), 'b');
  assert.equal(where(undefined, { zone: 'c' }), "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  assert.equal(where(term({ key: 'zone', operator: 'In', values: ['b', 'c'] })), 'b');
  assert.equal(where(term({ key: 'zone', operator: 'NotIn', values: ['b'] })), 'a');
  assert.equal(where(term({ key: 'spot', operator: 'Exists' })), 'b');
  assert.equal(where(term({ key: 'spot', operator: 'DoesNotExist' })), 'a');
  assert.equal(where(term({ key: 'gen', operator: 'Gt', values: ['2'] })), 'a');
  assert.equal(where(term({ key: 'gen', operator: 'Lt', values: ['3'] })), 'b');
  assert.match(where(term({ key: 'gen', operator: 'Gt', values: ['x'] })), /2 node\(s\) didn't match/);
  assert.match(where(term({ key: 'zone', operator: 'In', values: ['a'] }, { key: 'spot', operator: 'Exists' })), /didn't match/);
  assert.equal(where({ nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] }), 'b');
  assert.match(where({ nodeSelectorTerms: [{}] }), /didn't match/, 'an empty term matches nothing');
  assert.match(where(term({ key: 'zone', operator: 'In', values: ['a'] }), { zone: 'b' }), /didn't match/, 'nodeSelector and affinity both apply');
});

test('replicas, parallelism and DaemonSets expand; cpu, init containers and the pods-per-node limit count', () => {
  const job = { kind: 'Job', metadata: { name: 'j' }, spec: { parallelism: 3, completions: 2, template: { spec: { containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] } } } };
  const cron = { kind: 'CronJob', metadata: { name: 'cj' }, spec: { jobTemplate: { spec: { parallelism: 2, template: { spec: { containers: [{ name: 'c' }] } } } } } };
  const ds = { kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'kube-system' }, spec: { template: { spec: { nodeSelector: { role: 'w' }, containers: [{ name: 'c' }] } } } };
  const init = { kind: 'Pod', metadata: { name: 'init' }, spec: { initContainers: [{ name: 'i', resources: { requests: { cpu: '3500m' } } }], containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }] } };
  const nodes = [node('w1', { labels: { role: 'w' }, cpu: 4 }), node('w2', { labels: { role: 'w' }, cpu: 4 }), node('x', { cpu: 1, pods: 1 })];
  const r = planFromObjects([ds, pod('d', { kind: 'Deployment', replicas: 2 }), job, cron, init, { kind: 'Service', metadata: { name: 's' } }], { nodes }, { recommend: false });
  const ids = r.placements.map((p) => p.pod).sort();
  assert.deepEqual(ids.filter((i) => i.startsWith('kube-system/')), ['kube-system/agent-w1', 'kube-system/agent-w2']);
  assert.equal(ids.filter((i) => i.startsWith('default/j-')).length, 2, 'parallelism capped by completions');
  assert.equal(ids.filter((i) => i.startsWith('default/cj-')).length, 2);
  assert.equal(ids.filter((i) => i.startsWith('default/d-')).length, 2);
  // The init container's 3.5 cores need a node with that much left: the two cpu=1 Job pods take a core each, and
  // the full one-pod node gives both of its reasons, as the scheduler's NodeResourcesFit does.
  const initPod = r.unschedulable.find((u) => u.pod === 'default/init');
  assert.ok(initPod, JSON.stringify(r.placements));
  assert.equal(initPod.reason, '0/3 nodes are available: 1 Too many pods, 3 Insufficient cpu.');
  assert.deepEqual(r.warnings, []);
});

test('a cordoned node takes no pods; higher priority goes first; the lesser allocated node wins (LeastAllocated)', () => {
  let r = planFromObjects([pod('p')], { nodes: [node('c', { unschedulable: true })] }, { recommend: false });
  assert.equal(r.unschedulable[0].reason, '0/1 nodes are available: 1 node(s) were unschedulable.');
  const low = pod('low', { epc: '100Mi' });
  const high = { ...pod('high', { epc: '100Mi' }), spec: { ...(pod('high', { epc: '100Mi' }) as { spec: object }).spec, priority: 1000 } };
  r = planFromObjects([low, high], { nodes: [node('s', { epcMiB: 168 })] }, { recommend: false });
  assert.equal(nodeOf(r, 'default/high'), 's');
  assert.equal(r.unschedulable[0].pod, 'default/low');
  r = planFromObjects([pod('a', { cpu: '2' }), pod('b', { cpu: '1' }), pod('c', { cpu: '1' })], { nodes: [node('n1', { cpu: 4 }), node('n2', { cpu: 4 })] }, { recommend: false });
  assert.deepEqual([nodeOf(r, 'default/a'), nodeOf(r, 'default/b'), nodeOf(r, 'default/c')], ['n1', 'n2', 'n2']);
});

test('the recommendation: cheapest size per group of pending pods, selectors become pool labels, prices when the catalogue has them', () => {
  const objs = [pod('big', { kind: 'Deployment', replicas: 3, epc: '3Gi' }), pod('web', { kind: 'Deployment', replicas: 2, cpu: '500m', nodeSelector: { tier: 'web' } })];
  const catalogue = parseCatalogue({ extends: 'built-in', currency: 'EUR', sizes: [{ name: 'Standard_DC2s_v3', pricePerHour: 0.2 }, { name: 'Standard_DC4s_v3', pricePerHour: 0.3 }, { name: 'Standard_D2s_v5', vCpus: 2, memory: '8Gi', pricePerHour: 0.1 }] }, 'prices.yaml');
  const r = planFromObjects(objs, {}, { catalogue, recommend: { clusterName: 'c1', resourceGroup: 'rg', sizes: ['Standard_DC2s_v3', 'Standard_DC4s_v3', 'Standard_D2s_v5'] } });
  const rec = r.recommendation!;
  assert.equal(rec.fits, true);
  // 3 × 3 GiB: two DC2s_v3 (8 GiB each, 0.4 €) hold them; DC4s_v3 (16 GiB) would be one node at 0.3 €.
  assert.deepEqual(rec.pools.map((p) => [p.vmSize, p.count, p.labels]), [['Standard_DC4s_v3', 1, {}], ['Standard_D2s_v5', 1, { tier: 'web' }]]);
  assert.equal(rec.pricePerHour, 0.4);
  assert.equal(rec.currency, 'EUR');
  assert.equal(rec.commands[1], 'az aks nodepool add --cluster-name c1 --resource-group rg --name app2 --node-vm-size Standard_D2s_v5 --node-count 1 --max-pods 110 --labels tier=web');
  // Checked: the recommended pools, planned as a target, hold every pod.
  const again = planFromObjects(objs, { pools: rec.pools.map((p) => ({ name: p.name, vmSize: p.vmSize, count: p.count, labels: p.labels })) }, { catalogue, recommend: false });
  assert.deepEqual(again.unschedulable, []);
  // More EPC than any size: unfit, with the numbers.
  const huge = planFromObjects([pod('huge', { epc: '300Gi' })], {});
  assert.equal(huge.recommendation!.fits, false);
  assert.equal(huge.recommendation!.unfit[0].reason, 'asks for 300Gi of EPC; the largest catalogue size offers 256Gi');
});

test('the built-in catalogue carries the DCsv2, DCsv3 and DCdsv3 sizes; catalogue files are checked', () => {
  const by = new Map(BUILTIN_CATALOGUE.sizes.map((s) => [s.name, s]));
  assert.deepEqual(['Standard_DC1s_v2', 'Standard_DC2s_v2', 'Standard_DC4s_v2', 'Standard_DC8_v2'].map((n) => by.get(n)!.epcBytes / MIB), [28, 56, 112, 168]);
  assert.equal(by.get('Standard_DC48s_v3')!.epcBytes, 256 * GIB);
  assert.equal(by.get('Standard_DC48ds_v3')!.memoryBytes, 384 * GIB);
  assert.equal(by.get('Standard_DC8s_v3')!.vCpus, 8);
  assert.equal(loadCatalogue(), BUILTIN_CATALOGUE);
  const c = loadCatalogue('onprem.yaml', () => ({ sizes: [{ name: 'xeon-6338', family: 'onprem', vCpus: 64, memory: '512Gi', epc: '64Gi' }] }));
  assert.deepEqual([c.sizes[0].epcBytes, c.reserved, c.maxPods], [64 * GIB, 'none', 110]);
  for (const [doc, re] of [
    [[], /a catalogue is a mapping/],
    [{ sizes: [{ name: 'x', vCpus: 1 }] }, /vCpus and memory are required/],
    [{ sizes: [{ name: 'x', vCpus: -1, memory: '1Gi' }] }, /vCpus: expected a non-negative number/],
    [{ sizes: [{ name: 'x', vCpus: 1, memory: 'lots' }] }, /memory: quantity "lots" is not a Kubernetes quantity/],
    [{ extends: 'aws', sizes: [] }, /only "built-in"/],
  ] as const) {
    assert.throws(() => parseCatalogue(doc, 'f.yaml'), (e: unknown) => e instanceof PlannerError && e.code === 'ERR_PLAN_CATALOGUE' && re.test(e.message));
  }
  assert.throws(() => planFromObjects([], { pools: [{ vmSize: 'Standard_M8', count: 1 }] }), (e: unknown) => e instanceof PlannerError && e.code === 'ERR_PLAN_POOL');
  assert.throws(() => planFromObjects([{ kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: 'two' } } }] } }], {}), (e: unknown) => e instanceof PlannerError && e.code === 'ERR_PLAN_INPUT' && /Pod\/p container "c": cpu/.test(e.message));
  assert.throws(() => planFromObjects([42], {}), (e: unknown) => e instanceof PlannerError && /object 0: not an object/.test(e.message));
});
