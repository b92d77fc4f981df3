import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterTarget, explainPod } from '../../src/planner/index.js';

const MIB = 2 ** 20;

function node(name: string, o: { epcMiB?: number; taints?: unknown[]; labels?: Record<string, string>; unschedulable?: boolean } = {}) {
  const allocatable: Record<string, string> = { cpu: '4', memory: '16Gi', pods: '110' };
  if (o.epcMiB) Object.assign(allocatable, { 'sgx.intel.com/epc': String(o.epcMiB * MIB), 'sgx.intel.com/enclave': '110' });
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } }, spec: { taints: o.taints, unschedulable: o.unschedulable }, status: { allocatable } };
}

function sgxPod(name: string, epc: string, extra: Record<string, unknown> = {}, nodeName?: string) {
  return {
    metadata: { name, namespace: 'default' },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': epc, 'sgx.intel.com/enclave': '1' }, requests: { 'sgx.intel.com/epc': epc, 'sgx.intel.com/enclave': '1' } } }], ...extra },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

test('no SGX node: said so, with the pool that would fix it', () => {
  const { nodes } = clusterTarget([node('plain-1'), node('plain-2')], []);
  const e = explainPod({ pod: sgxPod('p', '64Mi'), nodes });
  assert.equal(e.state, 'pending');
  assert.match(e.text, /asks for SGX \(64Mi of sgx\.intel\.com\/epc\), but no node of the 2 nodes offers sgx\.intel\.com\/epc/);
  assert.match(e.text, /az aks nodepool add .*--node-vm-size Standard_DC1s_v3 --node-count 1/, 'one vCPU; DC1s_v2 (28 MiB of EPC) is too small for 64 MiB');
  assert.equal(e.schedulerMessage, '0/2 nodes are available: 2 Insufficient sgx.intel.com/enclave, 2 Insufficient sgx.intel.com/epc.');
});

test('EPC exhausted on every SGX node: the numbers per node; bound pods counted as the scheduler counts them', () => {
  const { nodes } = clusterTarget([node('sgx-1', { epcMiB: 168 }), node('sgx-2', { epcMiB: 112 }), node('plain')], [sgxPod('a', '150Mi', {}, 'sgx-1'), sgxPod('b', '100Mi', {}, 'sgx-2'), { ...sgxPod('done', '100Mi', {}, 'sgx-2'), status: { phase: 'Succeeded' } }]);
  const e = explainPod({ pod: sgxPod('p', '20Mi'), nodes, schedulerMessage: '0/3 nodes are available: 1 Insufficient sgx.intel.com/enclave, 3 Insufficient sgx.intel.com/epc.' });
  assert.match(e.text, /EPC is exhausted on every SGX node it may use: sgx-1 has 18Mi free of 168Mi, sgx-2 has 12Mi free of 112Mi\./);
  assert.match(e.text, /The scheduler says: "0\/3 nodes are available/);
  assert.ok(e.fixes.some((f) => /free EPC/.test(f)));
});

test('taints and selectors: which nodes, which taint, the toleration to add', () => {
  const { nodes } = clusterTarget([node('sgx-1', { epcMiB: 168, taints: [{ key: 'sgx', value: 'true', effect: 'NoSchedule' }] }), node('sgx-2', { epcMiB: 168, labels: { zone: 'a' } })], []);
  const e = explainPod({ pod: sgxPod('p', '20Mi', { nodeSelector: { zone: 'b' } }), nodes });
  assert.match(e.text, /1 node \(sgx-1\) has the taint sgx=true:NoSchedule, which the pod does not tolerate\./);
  assert.match(e.text, /1 node \(sgx-2\) does not match its nodeSelector zone=b, among them 1 SGX node\./);
  assert.ok(e.fixes.includes('add the toleration {key: sgx, operator: Equal, value: true, effect: NoSchedule} (or run the webhook with --sgx-taint sgx=true:NoSchedule so that SGX pods get it)'));
  assert.equal(e.schedulerMessage, "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint(s).");
});

test('a refused manifest, a bound pod, a pod that fits now', () => {
  const { nodes } = clusterTarget([node('sgx-1', { epcMiB: 168, unschedulable: true }), node('sgx-2', { epcMiB: 168 })], []);
  assert.equal(explainPod({ pod: { metadata: { name: 'x' } }, nodes, refusal: 'confkube: container "app" limits: sgx.intel.com/sgx_epc_mem_in_MiB counts MiB' }).state, 'refused');
  assert.match(explainPod({ pod: sgxPod('r', '1Mi', {}, 'sgx-2'), nodes }).text, /bound it to sgx-2 \(phase Running\)/);
  const e = explainPod({ pod: sgxPod('f', '1Mi'), nodes });
  assert.equal(e.state, 'fits');
  assert.match(e.text, /sgx-2 has room for it/);
  const c = explainPod({ pod: sgxPod('f', '1Mi', { nodeSelector: { 'kubernetes.io/hostname': 'sgx-1' } }), nodes });
  assert.match(c.text, /1 node \(sgx-1\) is cordoned\./);
});
