import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReviewError, createWebhookServer, reviewRequest } from '../../src/admission/index.js';
import { applyPatch } from '../helpers/json-patch.js';
import { asKind, patched, patchOf, reviewFor, WORKLOAD_KINDS } from './helpers.js';

type Obj = Record<string, unknown>;
const EPC_NAMES = ['sgx.intel.com/epc', 'sgx.intel.com/sgx_epc_mem_in_MiB', 'kubernetes.azure.com/sgx_epc_mem_in_MiB'];

function specOf(kind: string, o: Obj): Obj {
  const s = o.spec as Obj;
  if (kind === 'Pod') return s;
  if (kind === 'CronJob') return ((((s.jobTemplate as Obj).spec as Obj).template as Obj).spec as Obj);
  return (s.template as Obj).spec as Obj;
}

test('a kind named after an Object.prototype member is just a kind the webhook does not admit', async () => {
  for (const k of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
    const viaObject = await reviewRequest({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', object: { kind: k, spec: { containers: [] } } } }, 'mutate');
    assert.deepEqual(viaObject.response, { uid: 'u', allowed: true });
    const viaRequest = await reviewRequest({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'v', kind: { kind: k }, object: {} } }, 'validate');
    assert.deepEqual(viaRequest.response, { uid: 'v', allowed: true });
  }
  // Over HTTP too: a 200 with an answer, not a 500.
  const app = createWebhookServer();
  try {
    const r = await app.inject({ method: 'POST', url: '/mutate', payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'w', kind: { kind: 'toString' }, object: { kind: 'toString' } } } });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json().response, { uid: 'w', allowed: true });
  } finally {
    await app.close();
  }
});

test('Kubernetes quantities: every canonical form is kept as written; aliases become bytes; nonsense is refused with a reason', async () => {
  for (const q of ['10', '10Mi', '1Gi', '10485760', '1e6', '500M', '1.5Ki', '+64Mi']) {
    const pod = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': q } } }] } });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, true, `${q}: ${JSON.stringify(out.response.status)}`);
    assert.deepEqual(specOf('Pod', patched(pod, out)).containers, [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': q, 'sgx.intel.com/enclave': '1' } } }], q);
  }
  // An alias of 0 is dropped with no device (test/admission/sgx-pods.test.ts).
  for (const [q, bytes] of [['10', '10Mi'], ['1e1', '10Mi'], ['1024', '1Gi'], ['168', '168Mi']] as const) {
    for (const alias of EPC_NAMES.slice(1)) {
      const pod = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { [alias]: q } } }] } });
      const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate'));
      assert.deepEqual((specOf('Pod', after).containers as Obj[])[0].resources, { limits: { 'sgx.intel.com/epc': bytes, 'sgx.intel.com/enclave': '1' } }, `${alias} ${q}`);
    }
  }
  const refused: [string, unknown, RegExp][] = [
    ['sgx.intel.com/epc', 'ten', /not a Kubernetes quantity/],
    ['sgx.intel.com/epc', '-10Mi', /not a Kubernetes quantity/],
    ['sgx.intel.com/epc', '0.5', /whole number of bytes/],
    ['sgx.intel.com/epc', '1e300', /not a plausible EPC size/],
    ['sgx.intel.com/epc', true, /must be a quantity/],
    ['sgx.intel.com/epc', { a: 1 }, /must be a quantity/],
    ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '10Mi', /counts MiB, so "10Mi" would be 10485760 MiB.*sgx\.intel\.com\/epc: 10Mi/],
    ['sgx.intel.com/sgx_epc_mem_in_MiB', '1Gi', /counts MiB/],
    ['sgx.intel.com/sgx_epc_mem_in_MiB', '2.5', /whole MiB/],
    ['kubernetes.azure.com/sgx_epc_mem_in_MiB', '1e20', /not a plausible EPC size/],
  ];
  for (const [name, value, re] of refused) {
    const pod = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { [name]: value } } }] } });
    const out = await reviewRequest(reviewFor(pod), 'mutate');
    assert.equal(out.response.allowed, false, `${name} ${JSON.stringify(value)}`);
    assert.equal(out.response.patch, undefined);
    assert.match(out.response.status!.message, re, `${name} ${JSON.stringify(value)}`);
  }
});

test('an EPC request without a limit gets the equal limit (the API server refuses it otherwise), with a warning', async () => {
  for (const kind of WORKLOAD_KINDS) {
    const obj = asKind(kind, { spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10', cpu: '1' } } }] } });
    const out = await reviewRequest(reviewFor(obj), 'mutate');
    assert.equal(out.response.allowed, true);
    assert.match(out.response.warnings!.join(), /EPC limit set to the request \(10Mi\)/);
    const c = (specOf(kind, patched(obj, out)).containers as Obj[])[0];
    assert.deepEqual(c.resources, {
      requests: { cpu: '1', 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' },
      limits: { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' },
    });
  }
});

test('resources maps that are null or missing are created whole, never added into', async () => {
  const shapes: Obj[] = [{}, { resources: null }, { resources: {} }, { resources: { limits: null } }, { resources: { limits: null, requests: null } }, { resources: { requests: { cpu: '1' } } }];
  for (const shape of shapes) {
    const pod = asKind('Pod', { metadata: { annotations: { 'confkube.io/sgx': 'true' } }, spec: { containers: [{ name: 'c', image: 'x', ...shape }] } });
    const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate'));
    const res = (specOf('Pod', after).containers as Obj[])[0].resources as Obj;
    assert.deepEqual(res.limits, { 'sgx.intel.com/enclave': '1' }, JSON.stringify(shape));
  }
});

test('subresources, pod UPDATEs and workload UPDATEs that keep the template are allowed untouched', async () => {
  const denyAll = { largestEpc: async () => ({ bytes: 1, node: 'tiny' }), namespaceAnnotations: async () => null, configMapBytes: async () => null };
  const pod = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '10' } } }] } });
  for (const extra of [{ operation: 'UPDATE', subResource: 'status' }, { operation: 'UPDATE', oldObject: pod }, { operation: 'CREATE', subResource: 'binding' }, { operation: 'CONNECT' }]) {
    for (const mode of ['mutate', 'validate'] as const) {
      const out = await reviewRequest(reviewFor(pod, extra), mode, { cluster: denyAll });
      assert.deepEqual(Object.keys(out.response).sort(), ['allowed', 'uid'], JSON.stringify(extra));
      assert.equal(out.response.allowed, true);
    }
  }
  const dep = asKind('Deployment', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }] } });
  const scaled = structuredClone(dep) as Obj;
  (scaled.spec as Obj).replicas = 0;
  const scale = await reviewRequest(reviewFor(scaled, { operation: 'UPDATE', oldObject: dep }), 'validate', { cluster: denyAll });
  assert.equal(scale.response.allowed, true, 'scaling a workload is never blocked by a check of its unchanged template');
  const bumped = structuredClone(dep) as Obj;
  ((((bumped.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0].image = 'y';
  const change = await reviewRequest(reviewFor(bumped, { operation: 'UPDATE', oldObject: dep }), 'validate', { cluster: denyAll });
  assert.equal(change.response.allowed, false, 'a changed template is judged again');
  assert.match(change.response.status!.message, /tiny/);
  const fixed = await reviewRequest(reviewFor(bumped, { operation: 'UPDATE', oldObject: dep }), 'mutate');
  assert.ok(patchOf(fixed).length > 0, 'a changed template is mutated');
});

// Values that show up where quantities, names and annotations belong, good and bad.
const quantity = fc.oneof(
  fc.constantFrom('10', '10Mi', '1Gi', '0', '1e6', '500M', '1.5', '-1', 'ten', '', ' 10 ', '1e400', '10Mi ', '0x10', 'NaN', 'Infinity'),
  fc.integer(),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.string({ maxLength: 6 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const resourceMap = fc.oneof(
  fc.constant(null),
  fc.dictionary(fc.constantFrom(...EPC_NAMES, 'cpu', 'memory', 'sgx.intel.com/enclave', 'sgx.intel.com/provision', '__proto__', 'constructor'), quantity, { maxKeys: 4 }),
);
const container = fc.record(
  {
    name: fc.oneof(fc.constantFrom('app', 'aesmd', 'sidecar', 'c'), fc.string({ maxLength: 4 }), fc.constant(null)),
    image: fc.constant('x'),
    resources: fc.oneof(fc.constant(null), fc.constant('junk'), fc.record({ limits: resourceMap, requests: resourceMap }, { requiredKeys: [] })),
    command: fc.oneof(fc.constant(null), fc.array(fc.oneof(fc.constantFrom('/bin/sh', '-c', 'a && b', 'app'), fc.integer()), { maxLength: 3 })),
    env: fc.oneof(fc.constant(null), fc.constant([{ name: 'SGX_AESM_ADDR', value: '1' }]), fc.constant([1, null])),
    volumeMounts: fc.oneof(fc.constant(null), fc.constant([{ name: 'aesmd-socket', mountPath: '/var/run/aesmd' }]), fc.constant('x')),
  },
  { requiredKeys: [] },
);
const containers = fc.oneof(fc.constant(null), fc.constant({}), fc.array(fc.oneof(container, fc.constant(null), fc.integer()), { maxLength: 3 }));
const annotations = fc.oneof(
  fc.constant(null),
  fc.dictionary(
    fc.constantFrom('confkube.io/sgx', 'confkube.io/quote-provider', 'sgx.intel.com/quote-provider', 'confkube.io/mrsigner', 'confkube.io/sigstruct', 'other'),
    fc.oneof(fc.constantFrom('true', 'aesmd', 'app', 'c', 'ab'.repeat(32), 'le/enclave.sig', 'bad ref', ''), fc.integer(), fc.constant(null)),
    { maxKeys: 3 },
  ),
);
const podSpec = fc.record(
  {
    containers,
    initContainers: containers,
    ephemeralContainers: containers,
    volumes: fc.oneof(fc.constant(null), fc.constant([]), fc.constant([{ name: 'aesmd-socket', emptyDir: {} }]), fc.constant(7)),
    tolerations: fc.oneof(fc.constant(null), fc.constant([]), fc.constant([{ key: 'sgx', operator: 'Exists' }])),
  },
  { requiredKeys: [] },
);

test('fast-check: any pod-shaped input, SGX or not, is answered; every patch applies to the object it was made for', async () => {
  const signerLookups = {
    largestEpc: async () => ({ bytes: 64 * 2 ** 20, node: 'n' }),
    namespaceAnnotations: async () => ({ 'confkube.io/trusted-mrsigners': 'ab'.repeat(32) }),
    configMapBytes: async () => null,
  };
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...WORKLOAD_KINDS), annotations, podSpec, fc.constantFrom('mutate', 'validate') as fc.Arbitrary<'mutate' | 'validate'>, async (kind, ann, spec, mode) => {
      const obj = asKind(kind, { metadata: ann === null ? {} : { annotations: ann }, spec: spec as Obj });
      const review = reviewFor(obj);
      const out = await reviewRequest(review, mode, { cluster: signerLookups, sgxToleration: { key: 'sgx', operator: 'Exists', effect: 'NoSchedule' } });
      assert.equal(out.response.uid, (review.request as { uid: string }).uid);
      if (!out.response.allowed) assert.ok(out.response.status!.message.length > 0);
      if (out.response.patch !== undefined) {
        assert.equal(mode, 'mutate');
        const after = applyPatch(obj, patchOf(out));
        // Applying the webhook to its own output changes nothing more (reinvocationPolicy: IfNeeded is safe).
        const again = await reviewRequest(reviewFor(after), 'mutate', { sgxToleration: { key: 'sgx', operator: 'Exists', effect: 'NoSchedule' } });
        assert.deepEqual(patchOf(again), []);
      }
    }),
    { numRuns: 3000 },
  );
});

test('fast-check: any JSON body is either answered or refused with a ReviewError, never another exception', async () => {
  await fc.assert(
    fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), fc.constantFrom('Pod', 'Job', 'CronJob', 'toString', '__proto__', 'constructor', 'valueOf'), async (request, junk, kind) => {
      const review = (r: unknown) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: r });
      for (const body of [request, junk, review(request), review({ uid: 'u', object: junk, kind: request }), review({ uid: 'u', object: { kind, spec: junk, metadata: request } })]) {
        try {
          const out = await reviewRequest(body, 'mutate');
          assert.equal(typeof out.response.allowed, 'boolean');
        } catch (e) {
          assert.ok(e instanceof ReviewError, String(e));
        }
      }
    }),
    { numRuns: 3000 },
  );
});
