// Patched objects are walked by path in assertions; typing every shape would hide nothing.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reviewRequest, formatBytes } from '../../src/admission/index.js';
import { loadYaml } from '@kubernetes/client-node';
import { fixtureText } from '../helpers/fixtures.js';
import { asApiServerJson, asKind, patched, patchOf, reviewFor, WORKLOAD_KINDS } from './helpers.js';

// The FAQ's YAML does not parse as published: `image: oeciteam/sgx-test: 1.0` has a stray space, and kubectl
// rejects it the same way. That one typo is mended here; every other byte is the FAQ's.
const faqText = fixtureText('admission/faq-sgx-test-job.yaml');
const mended = faqText.replace('oeciteam/sgx-test: 1.0', 'oeciteam/sgx-test:1.0');
const faq = asApiServerJson(loadYaml(mended) as Record<string, unknown>);

test('the FAQ fixture differs from the published text by the image typo only', () => {
  assert.throws(() => loadYaml(faqText));
  assert.equal(mended.length, faqText.length - 1);
});

test("the AKS FAQ's sgx-test Job, verbatim: sgx.intel.com/epc 10Mi, the enclave device, nothing else", async () => {
  const out = await reviewRequest(reviewFor(faq), 'mutate');
  assert.equal(out.response.allowed, true);
  assert.equal(out.response.patchType, 'JSONPatch');
  const after = patched(faq, out) as any;
  const expected = structuredClone(faq) as any;
  expected.spec.template.spec.containers[0].resources = { limits: { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' } };
  assert.deepEqual(after, expected);
  // The validating pass on the mutated object allows it without further change.
  const v = await reviewRequest(reviewFor(after), 'validate');
  assert.equal(v.response.allowed, true);
  assert.equal(v.response.patch, undefined);
});

const names = [
  ['sgx.intel.com/sgx_epc_mem_in_MiB', '10'],
  ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '10'],
  ['sgx.intel.com/epc', '10Mi'],
] as const;

for (const kind of WORKLOAD_KINDS) {
  for (const [name, value] of names) {
    test(`${kind} with ${name}: ${value} in limits and requests → sgx.intel.com/epc 10Mi + enclave device`, async () => {
      const obj = asKind(kind, {
        spec: {
          containers: [{ name: 'enclave', image: 'oeciteam/sgx-test:1.0', resources: { limits: { [name]: value, cpu: '500m' }, requests: { [name]: value, cpu: '250m' } } }],
          restartPolicy: kind === 'Job' || kind === 'CronJob' ? 'Never' : 'Always',
        },
      });
      const out = await reviewRequest(reviewFor(obj), 'mutate');
      assert.equal(out.response.allowed, true, JSON.stringify(out.response.status));
      const after = patched(obj, out) as any;
      const spec = kind === 'Pod' ? after.spec : kind === 'CronJob' ? after.spec.jobTemplate.spec.template.spec : after.spec.template.spec;
      assert.deepEqual(spec.containers[0].resources, {
        limits: { cpu: '500m', 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' },
        requests: { cpu: '250m', 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' },
      });
      // Nothing outside the container's resources changed.
      const again = structuredClone(after);
      const s2 = kind === 'Pod' ? again.spec : kind === 'CronJob' ? again.spec.jobTemplate.spec.template.spec : again.spec.template.spec;
      s2.containers[0].resources = (kind === 'Pod' ? obj.spec : kind === 'CronJob' ? (obj as any).spec.jobTemplate.spec.template.spec : (obj as any).spec.template.spec).containers[0].resources;
      assert.deepEqual(again, obj);
      // Idempotent: reviewing the result again changes nothing.
      const second = await reviewRequest(reviewFor(after), 'mutate');
      assert.deepEqual(patchOf(second), []);
    });
  }
}

test('quote provider: aesmd (out-of-process) mounts the host directory read-only and sets SGX_AESM_ADDR; a container name gets the provision device', async () => {
  const pod = asKind('Pod', {
    metadata: { annotations: { 'confkube.io/quote-provider': 'aesmd' } },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }, { name: 'sidecar', image: 'envoy' }] },
  });
  const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate')) as any;
  assert.deepEqual(after.spec.containers[0].volumeMounts, [{ name: 'aesmd-socket', mountPath: '/var/run/aesmd', readOnly: true }]);
  assert.deepEqual(after.spec.containers[0].env, [{ name: 'SGX_AESM_ADDR', value: '1' }]);
  assert.deepEqual(after.spec.volumes, [{ name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'Directory' } }]);
  assert.equal(after.spec.containers[1].volumeMounts, undefined, 'the non-enclave sidecar is left alone');
  const inproc = asKind('Pod', {
    metadata: { annotations: { 'sgx.intel.com/quote-provider': 'app' } },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' }, requests: { 'sgx.intel.com/epc': '64Mi' } } }] },
  });
  const a2 = patched(inproc, await reviewRequest(reviewFor(inproc), 'mutate')) as any;
  assert.equal(a2.spec.containers[0].resources.limits['sgx.intel.com/provision'], '1');
  assert.equal(a2.spec.containers[0].resources.requests['sgx.intel.com/provision'], '1');
  const missing = asKind('Pod', {
    metadata: { annotations: { 'confkube.io/quote-provider': 'nope' } },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }] },
  });
  const r = await reviewRequest(reviewFor(missing), 'mutate');
  assert.equal(r.response.allowed, false);
  assert.match(r.response.status!.message, /"nope"/);
});

test('the confkube.io/sgx annotation makes every app container an enclave container; the SGX pool toleration is added', async () => {
  const pod = asKind('Pod', { metadata: { annotations: { 'confkube.io/sgx': 'true' } }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y', resources: {} }] } });
  const out = await reviewRequest(reviewFor(pod), 'mutate', { sgxToleration: { key: 'sgx.intel.com/epc', operator: 'Exists', effect: 'NoSchedule' } });
  const after = patched(pod, out) as any;
  assert.deepEqual(after.spec.containers[0].resources, { limits: { 'sgx.intel.com/enclave': '1' } });
  assert.deepEqual(after.spec.containers[1].resources, { limits: { 'sgx.intel.com/enclave': '1' } });
  assert.deepEqual(after.spec.tolerations, [{ key: 'sgx.intel.com/epc', operator: 'Exists', effect: 'NoSchedule' }]);
});

test('SGX pods that cannot work are rejected with a reason; shells in enclave containers get a warning', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ limits: { 'sgx.intel.com/epc': 'lots' } }, /not a Kubernetes quantity/],
    [{ limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '1.5' } }, /whole MiB/],
    [{ limits: { 'sgx.intel.com/epc': '10Mi' }, requests: { 'sgx.intel.com/epc': '20Mi' } }, /differs from its limit/],
    [{ limits: { 'sgx.intel.com/epc': '10Mi', 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '20' } }, /different EPC sizes/],
  ];
  for (const [resources, re] of cases) {
    const pod = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources }] } });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, false, JSON.stringify(resources));
    assert.equal(out.response.status!.code, 403);
    assert.match(out.response.status!.message, re);
  }
  const sh = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', command: ['/bin/sh', '-c', 'setup && exec app'], resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }] } });
  const w = await reviewRequest(reviewFor(sh), 'mutate');
  assert.equal(w.response.allowed, true);
  assert.match(w.response.warnings![0], /single-process/);
});

test('EPC larger than the largest SGX node is rejected, naming that node and its capacity', async () => {
  const cluster = {
    largestEpc: async () => ({ bytes: 168 * 2 ** 20, node: 'aks-dcsv2-0' }),
    namespaceAnnotations: async () => null,
    configMapBytes: async () => null,
  };
  const big = asKind('Deployment', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '256Mi' } } }] } });
  const out = await reviewRequest(reviewFor(big), 'validate', { cluster });
  assert.equal(out.response.allowed, false);
  assert.match(out.response.status!.message, /256Mi.*aks-dcsv2-0.*168Mi/);
  const fits = asKind('Deployment', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '168Mi' } } }] } });
  assert.equal((await reviewRequest(reviewFor(fits), 'validate', { cluster })).response.allowed, true);
  // Init containers do not add up with app containers: the pod needs max(sum(app), max(init)).
  const init = asKind('Pod', {
    spec: {
      initContainers: [{ name: 'i', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '100Mi', 'sgx.intel.com/enclave': '1' } } }],
      containers: [{ name: 'a', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '100Mi', 'sgx.intel.com/enclave': '1' } } }],
    },
  });
  assert.equal((await reviewRequest(reviewFor(init), 'validate', { cluster })).response.allowed, true);
  // An unreachable API server never blocks: a warning, not a rejection.
  const down = { ...cluster, largestEpc: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
  const r = await reviewRequest(reviewFor(big), 'mutate', { cluster: down });
  assert.equal(r.response.allowed, true);
  assert.match(r.response.warnings!.join(), /EPC size not checked/);
});

test('formatBytes renders like Kubernetes', () => {
  assert.equal(formatBytes(10 * 2 ** 20), '10Mi');
  assert.equal(formatBytes(2 ** 30), '1Gi');
  assert.equal(formatBytes(1536 * 2 ** 20), '1536Mi');
  assert.equal(formatBytes(1000), '1000');
});

test("the FAQ's container, limits only as published, in every workload kind and under every EPC name: only epc and enclave change", async () => {
  const faqTemplate = (faq as { spec: { template: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } }).spec.template;
  const [faqContainer] = faqTemplate.spec.containers as Record<string, unknown>[];
  for (const kind of WORKLOAD_KINDS) {
    for (const [name, value] of [['sgx.intel.com/sgx_epc_mem_in_MiB', '10'], ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '10'], ['sgx.intel.com/epc', '10Mi']] as const) {
      const container = { ...structuredClone(faqContainer), resources: { limits: { [name]: value } } };
      const restartPolicy = kind === 'Job' || kind === 'CronJob' || kind === 'Pod' ? 'Never' : 'Always';
      const obj = asKind(kind, { metadata: structuredClone(faqTemplate.metadata), spec: { containers: [container], restartPolicy } }, 'sgx-test');
      const out = await reviewRequest(reviewFor(obj), 'mutate');
      assert.equal(out.response.allowed, true, `${kind} ${name}`);
      assert.equal(out.response.warnings, undefined, `${kind} ${name}`);
      const expected = asKind(kind, {
        metadata: structuredClone(faqTemplate.metadata),
        spec: { containers: [{ ...structuredClone(faqContainer), resources: { limits: { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' } } }], restartPolicy },
      }, 'sgx-test');
      assert.deepEqual(patched(obj, out), expected, `${kind} ${name}`);
    }
  }
});

test('the validating pass refuses an SGX Pod the mutating pass never saw (it would start without its device), and only such a Pod', async () => {
  // Intel's failure mode (intel#1695): the pod names sgx.intel.com/epc, the webhook was skipped, no enclave device.
  const skipped = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }] } });
  const v = await reviewRequest(reviewFor(skipped), 'validate');
  assert.equal(v.response.allowed, false);
  assert.match(v.response.status!.message, /not mutated by the confkube webhook \(1 change missing, first: add \/spec\/containers\/0\/resources\/limits\/sgx\.intel\.com~1enclave\)/);
  const mutated = patched(skipped, await reviewRequest(reviewFor(skipped), 'mutate', { sgxToleration: { key: 'sgx', operator: 'Exists' } }));
  assert.equal((await reviewRequest(reviewFor(mutated), 'validate')).response.allowed, true);
  // A toleration is not a device: a replica started with another --sgx-taint does not refuse pods.
  assert.equal((await reviewRequest(reviewFor(skipped), 'validate', { sgxToleration: { key: 'sgx', operator: 'Exists' } })).response.allowed, false);
  const withDevice = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' } } }] } });
  assert.equal((await reviewRequest(reviewFor(withDevice), 'validate', { sgxToleration: { key: 'sgx', operator: 'Exists' } })).response.allowed, true);
  // Workload templates are not refused for it: each pod is mutated when it is created.
  const dep = asKind('Deployment', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }] } });
  assert.equal((await reviewRequest(reviewFor(dep), 'validate')).response.allowed, true);
});
