// Which pods are SGX pods and what they get: direct device requests, EPC of 0, MRSIGNER syntax without a trust
// list, native sidecars in the EPC total, and the two aesmd modes (host directory, in-pod sidecar).
// Patched objects are walked by path in assertions; typing every shape would hide nothing.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewRequest, type ClusterView } from '../../src/admission/index.js';
import { podEpcRequestBytes } from '../../src/kube/index.js';
import { asKind, patched, patchOf, reviewFor } from './helpers.js';

const MiB = 2 ** 20;

/** A cluster whose largest SGX node offers `bytes`; namespaces have no list, ConfigMaps are absent. */
function clusterWith(bytes: number): ClusterView {
  return { largestEpc: async () => ({ bytes, node: 'sgx-0' }), namespaceAnnotations: async () => null, configMapBytes: async () => null };
}

test('a pod asking for sgx.intel.com/enclave or /provision directly is an SGX pod: every check applies', async () => {
  for (const name of ['sgx.intel.com/enclave', 'sgx.intel.com/provision']) {
    const pod = asKind('Pod', { metadata: { annotations: {} }, spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { [name]: '1' } } }] } });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, true);
    assert.match(out.response.warnings!.join(), /asks for an SGX device directly without sgx\.intel\.com\/epc/, name);
    assert.equal((patched(pod, out) as any).spec.containers[0].resources.limits['sgx.intel.com/enclave'], '1');
    // The signer policy applies to it like to any SGX pod.
    const bad = asKind('Pod', { metadata: { annotations: { 'confkube.io/mrsigner': 'zz' } }, spec: pod.spec as Record<string, unknown> });
    const refused = await reviewRequest(reviewFor(bad), 'validate');
    assert.equal(refused.response.allowed, false, name);
    assert.match(refused.response.status!.message, /64 hex digits/);
    // The validating pass refuses one that skipped the mutating webhook, as for EPC pods.
    if (name === 'sgx.intel.com/provision') {
      const v = await reviewRequest(reviewFor(pod), 'validate');
      assert.equal(v.response.allowed, false);
      assert.match(v.response.status!.message, /not mutated by the confkube webhook/);
    }
  }
});

test('an EPC of 0 gets no enclave device: an alias is dropped, the canonical name kept, a warning says so', async () => {
  for (const [name, value] of [['sgx.intel.com/sgx_epc_mem_in_MiB', '0'], ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '0'], ['sgx.intel.com/epc', '0']]) {
    const pod = asKind('Pod', { spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { [name]: value, cpu: '1' } } }] } });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, true);
    assert.match(out.response.warnings!.join(), /asks for 0 EPC: it gets no sgx\.intel\.com\/enclave/);
    const after = patched(pod, out) as any;
    assert.deepEqual(after.spec.containers[0].resources.limits, name === 'sgx.intel.com/epc' ? { cpu: '1', 'sgx.intel.com/epc': '0' } : { cpu: '1' }, name);
    // The mutated pod passes validation and a second mutation changes nothing.
    assert.equal((await reviewRequest(reviewFor(after), 'validate')).response.allowed, true);
    assert.deepEqual(patchOf(await reviewRequest(reviewFor(after), 'mutate')), []);
  }
  // A zero container beside a real one: only the real one gets the device.
  const two = asKind('Pod', { spec: { containers: [{ name: 'a', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '0' } } }, { name: 'b', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '8Mi' } } }] } });
  const after = patched(two, await reviewRequest(reviewFor(two), 'mutate')) as any;
  assert.equal(after.spec.containers[0].resources.limits['sgx.intel.com/enclave'], undefined);
  assert.equal(after.spec.containers[1].resources.limits['sgx.intel.com/enclave'], '1');
});

test('confkube.io/mrsigner is checked for syntax without any trust list or cluster', async () => {
  const spec = { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '8Mi' } } }] };
  for (const value of ['zz', 'ab'.repeat(31), 'ab'.repeat(33), ' ']) {
    const out = await reviewRequest(reviewFor(asKind('Pod', { metadata: { annotations: { 'confkube.io/mrsigner': value } }, spec })), 'mutate');
    assert.equal(out.response.allowed, false, JSON.stringify(value));
    assert.match(out.response.status!.message, /must be 64 hex digits/);
  }
  const ok = await reviewRequest(reviewFor(asKind('Pod', { metadata: { annotations: { 'confkube.io/mrsigner': 'AB'.repeat(32) } }, spec })), 'mutate');
  assert.equal(ok.response.allowed, true);
  // A SIGSTRUCT reference cannot be checked without the API: a warning without a list, a refusal with one.
  const ref = asKind('Pod', { metadata: { annotations: { 'confkube.io/sigstruct': 'cm/enclave.sig' } }, spec });
  const warned = await reviewRequest(reviewFor(ref), 'mutate');
  assert.equal(warned.response.allowed, true);
  assert.match(warned.response.warnings!.join(), /cannot be checked: the webhook runs without the Kubernetes API/);
  const refused = await reviewRequest(reviewFor(ref), 'mutate', { trustedMrSigners: ['ab'.repeat(32)] });
  assert.equal(refused.response.allowed, false);
});

test('native sidecars count into the EPC total as the scheduler adds them, the same sum the agent reports', async () => {
  const spec = {
    initContainers: [
      { name: 'proxy', image: 'x', restartPolicy: 'Always', resources: { limits: { 'sgx.intel.com/epc': '40Mi' } } },
      { name: 'setup', image: 'x', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '50' } } },
    ],
    containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '30Mi' } } }],
  };
  const pod = asKind('Pod', { spec });
  // The app runs beside the sidecar: 70 MiB; the ordinary init container runs beside it too: 90 MiB.
  assert.equal(podEpcRequestBytes(pod as never), 90 * MiB);
  const atLimit = await reviewRequest(reviewFor(pod), 'mutate', { cluster: clusterWith(90 * MiB) });
  assert.equal(atLimit.response.allowed, true, JSON.stringify(atLimit.response.status));
  const over = await reviewRequest(reviewFor(pod), 'mutate', { cluster: clusterWith(89 * MiB) });
  assert.equal(over.response.allowed, false);
  assert.match(over.response.status!.message, /asks for 90Mi of EPC on one node/);
  // Without the sidecar's restartPolicy the same containers need only max(30, 40, 50) MiB.
  const plain = structuredClone(spec) as any;
  delete plain.initContainers[0].restartPolicy;
  assert.equal((await reviewRequest(reviewFor(asKind('Pod', { spec: plain })), 'mutate', { cluster: clusterWith(50 * MiB) })).response.allowed, true);
});

test("aesmd from the host: read-only hostPath of type Directory; the device plugin adds nothing (the webhook alone decides)", async () => {
  const pod = asKind('Pod', {
    metadata: { annotations: { 'sgx.intel.com/quote-provider': 'aesmd' } },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }] },
  });
  const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate')) as any;
  assert.deepEqual(after.spec.volumes, [{ name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'Directory' } }]);
  assert.deepEqual(after.spec.containers[0].volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd', readOnly: true }]);
  assert.equal(after.spec.containers[0].resources.limits['sgx.intel.com/provision'], undefined);
  // Without the annotation the pod quotes in-process or not at all: no mount, no environment.
  const plain = asKind('Pod', { spec: pod.spec as Record<string, unknown> });
  const a2 = patched(plain, await reviewRequest(reviewFor(plain), 'mutate')) as any;
  assert.equal(a2.spec.volumes, undefined);
  assert.equal(a2.spec.containers[0].env, undefined);
});

test("aesmd as the pod's own sidecar (Intel's sidecar mode): an in-pod memory emptyDir, the provisioning device for the sidecar", async () => {
  for (const where of ['containers', 'initContainers'] as const) {
    const aesmd = { name: 'aesmd', image: 'intel/sgx-aesmd', resources: { limits: { 'sgx.intel.com/epc': '1Mi' } }, ...(where === 'initContainers' ? { restartPolicy: 'Always' } : {}) };
    const app = { name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } };
    const spec = where === 'containers' ? { containers: [app, aesmd] } : { initContainers: [aesmd], containers: [app] };
    const pod = asKind('Pod', { metadata: { annotations: { 'confkube.io/quote-provider': 'aesmd' } }, spec });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, true, JSON.stringify(out.response.status));
    const after = patched(pod, out) as any;
    const sidecar = where === 'containers' ? after.spec.containers[1] : after.spec.initContainers[0];
    assert.deepEqual(after.spec.volumes, [{ name: 'aesmd-socket', emptyDir: { medium: 'Memory' } }], where);
    assert.deepEqual(after.spec.containers[0].volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd', readOnly: true }]);
    assert.deepEqual(after.spec.containers[0].env, [{ name: 'SGX_AESM_ADDR', value: '1' }]);
    assert.deepEqual(sidecar.volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd' }], 'the sidecar writes its socket there');
    assert.equal(sidecar.env, undefined);
    assert.deepEqual(sidecar.resources.limits, { 'sgx.intel.com/epc': '1Mi', 'sgx.intel.com/enclave': '1', 'sgx.intel.com/provision': '1' });
    assert.equal(after.spec.containers[0].resources.limits['sgx.intel.com/provision'], undefined, 'only the sidecar provisions');
    assert.equal(JSON.stringify(after).includes('hostPath'), false);
    assert.deepEqual(patchOf(await reviewRequest(reviewFor(after), 'mutate')), [], 'idempotent');
    assert.equal((await reviewRequest(reviewFor(after), 'validate')).response.allowed, true);
  }
  // A sidecar without EPC is warned about: the quoting enclaves need EPC too.
  const bare = asKind('Pod', { metadata: { annotations: { 'confkube.io/quote-provider': 'aesmd' } }, spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }, { name: 'aesmd', image: 'y' }] } });
  assert.match((await reviewRequest(reviewFor(bare), 'mutate')).response.warnings!.join(), /aesmd sidecar runs the quoting enclaves/);
});

test('workload mutation "pods": a Deployment keeps the alias its Git source has, its Pods get the canonical name and the device', async () => {
  const template = { spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10' } } }] } };
  const dep = asKind('Deployment', template);
  const out = await reviewRequest(reviewFor(dep), 'mutate', { workloadMutation: 'pods' });
  assert.equal(out.response.allowed, true);
  assert.equal(out.response.patch, undefined, 'the stored Deployment is what Git has');
  // Still checked: an impossible template is refused at the workload, not pod by pod.
  const bad = asKind('Deployment', { spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10Mi' } } }] } });
  assert.equal((await reviewRequest(reviewFor(bad), 'mutate', { workloadMutation: 'pods' })).response.allowed, false);
  // The ReplicaSet's Pod is mutated as always, and the validating pass admits it.
  const pod = asKind('Pod', template);
  const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate', { workloadMutation: 'pods' })) as any;
  assert.deepEqual(after.spec.containers[0].resources.limits, { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' });
  assert.equal((await reviewRequest(reviewFor(after), 'validate', { workloadMutation: 'pods' })).response.allowed, true);
  assert.equal((await reviewRequest(reviewFor(dep), 'validate', { workloadMutation: 'pods' })).response.allowed, true, 'an unmutated workload is not refused');
});
