// Patched objects are walked by path in assertions; typing every shape would hide nothing.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { readCaBundle, reviewRequest, type AttestationInjection, type ReviewOptions } from '../../src/admission/index.js';
import { fixtureText } from '../helpers/fixtures.js';
import { ordinaryCorpus } from './corpus.js';
import { asKind, patched, patchOf, reviewFor, WORKLOAD_KINDS } from './helpers.js';

// The attestation service's URL and CA for enclave apps (docs/enclave-pods.md §Finding the service).
const URL_ = 'https://confkube-attestation.confkube.svc';
const injection: AttestationInjection = { url: URL_, configMap: 'confkube-attestation-ca', namespaces: ['apps'] };
const options: ReviewOptions = { attestation: injection };
const CA_VOLUME = {
  name: 'confkube-attestation-ca',
  configMap: { name: 'confkube-attestation-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
};
const CA_MOUNT = { name: 'confkube-attestation-ca', mountPath: '/var/run/confkube/attestation-ca', readOnly: true };
const ENV = [
  { name: 'CONFKUBE_ATTESTATION_URL', value: URL_ },
  { name: 'CONFKUBE_ATTESTATION_CA', value: '/var/run/confkube/attestation-ca/ca.crt' },
];

function inNamespace<T extends Record<string, unknown>>(o: T, namespace: string): T {
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  (o as Record<string, unknown>).metadata = { ...meta, namespace };
  return o;
}

function enclavePod(namespace = 'apps', container: Record<string, unknown> = {}, spec: Record<string, unknown> = {}, annotations: Record<string, string> = {}) {
  return inNamespace(asKind('Pod', {
    metadata: { annotations },
    spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } }, ...container }, { name: 'proxy', image: 'envoy' }], ...spec },
  }), namespace);
}

function specOf(kind: string, o: any): any {
  return kind === 'Pod' ? o.spec : kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

test('an SGX pod in a listed namespace: its enclave container gets both variables and the CA mount; other containers nothing', async () => {
  const pod = enclavePod();
  const out = await reviewRequest(reviewFor(pod), 'mutate', options);
  assert.equal(out.response.allowed, true);
  const after = patched(pod, out) as any;
  assert.deepEqual(after.spec.containers[0].env, ENV);
  assert.deepEqual(after.spec.containers[0].volumeMounts, [CA_MOUNT]);
  assert.deepEqual(after.spec.volumes, [CA_VOLUME]);
  assert.equal(after.spec.containers[1].env, undefined, 'the proxy is not an enclave container');
  assert.equal(after.spec.containers[1].volumeMounts, undefined);
  // The webhook on its own output changes nothing (reinvocationPolicy IfNeeded), and the validating pass allows it.
  const again = await reviewRequest(reviewFor(after), 'mutate', options);
  assert.deepEqual(patchOf(again), []);
  const v = await reviewRequest(reviewFor(after), 'validate', options);
  assert.equal(v.response.allowed, true);
});

test('every workload kind: the template gets the variables and the CA, once', async () => {
  for (const kind of WORKLOAD_KINDS) {
    const obj = inNamespace(asKind(kind, { spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }], restartPolicy: kind === 'Job' || kind === 'CronJob' ? 'Never' : 'Always' } }), 'apps');
    const out = await reviewRequest(reviewFor(obj), 'mutate', options);
    const spec = specOf(kind, patched(obj, out));
    assert.deepEqual(spec.containers[0].env, ENV, kind);
    assert.deepEqual(spec.volumes, [CA_VOLUME], kind);
  }
});

test('pods outside the listed namespaces, ordinary pods, and an injection that is off get none of it', async () => {
  const elsewhere = await reviewRequest(reviewFor(enclavePod('other')), 'mutate', options);
  assert.ok(patchOf(elsewhere).every((op) => !JSON.stringify(op).includes('CONFKUBE_') && !op.path.includes('volumes')), JSON.stringify(patchOf(elsewhere)));
  const off = await reviewRequest(reviewFor(enclavePod()), 'mutate');
  assert.deepEqual(patchOf(off), patchOf(elsewhere), 'the same patch as with no injection at all');
  for (const { object } of ordinaryCorpus()) {
    const obj = inNamespace(structuredClone(object), 'apps');
    const out = await reviewRequest(reviewFor(obj), 'mutate', { attestation: { ...injection, namespaces: ['*'] } });
    assert.deepEqual(out.response, { uid: out.response.uid, allowed: true }, `${String(obj.kind)} is not an SGX object`);
  }
});

test('"*" injects in every namespace', async () => {
  const out = await reviewRequest(reviewFor(enclavePod('anything')), 'mutate', { attestation: { ...injection, namespaces: ['*'] } });
  assert.deepEqual((patched(enclavePod('anything'), out) as any).spec.containers[0].env, ENV);
});

test("the pod's own values win: a variable it sets, a mount at the CA directory and a volume of the same name are kept", async () => {
  const own = { name: 'CONFKUBE_ATTESTATION_URL', value: 'https://attest.example.com' };
  const pod = enclavePod('apps', { env: [own] });
  const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate', options)) as any;
  assert.deepEqual(after.spec.containers[0].env, [own, ENV[1]]);

  const fromSecret = { name: 'CONFKUBE_ATTESTATION_CA', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } };
  const mount = { name: 'mine', mountPath: '/var/run/confkube/attestation-ca' };
  const pod2 = enclavePod('apps', { env: [fromSecret], volumeMounts: [mount] }, { volumes: [{ name: 'mine', secret: { secretName: 'ca' } }] });
  const after2 = patched(pod2, await reviewRequest(reviewFor(pod2), 'mutate', options)) as any;
  assert.deepEqual(after2.spec.containers[0].env, [fromSecret, ENV[0]]);
  assert.deepEqual(after2.spec.containers[0].volumeMounts, [mount], 'no second mount at the same path');
  assert.deepEqual(after2.spec.volumes, [{ name: 'mine', secret: { secretName: 'ca' } }], 'no CA volume nobody mounts');

  const both = enclavePod('apps', { env: ENV }, { volumes: [{ name: 'confkube-attestation-ca', configMap: { name: 'my-ca' } }] });
  const after3 = patched(both, await reviewRequest(reviewFor(both), 'mutate', options)) as any;
  assert.deepEqual(after3.spec.containers[0].env, ENV);
  assert.deepEqual(after3.spec.volumes, [{ name: 'confkube-attestation-ca', configMap: { name: 'my-ca' } }], "the pod's volume of that name is used");
  assert.deepEqual(after3.spec.containers[0].volumeMounts, [CA_MOUNT]);
});

test('with the host aesmd: both the aesmd variable and the attestation ones land in the same env list (one patch, applied strictly)', async () => {
  const pod = enclavePod('apps', {}, {}, { 'confkube.io/quote-provider': 'aesmd' });
  const after = patched(pod, await reviewRequest(reviewFor(pod), 'mutate', options)) as any;
  assert.deepEqual(after.spec.containers[0].env.map((e: any) => e.name), ['SGX_AESM_ADDR', 'CONFKUBE_ATTESTATION_URL', 'CONFKUBE_ATTESTATION_CA']);
  assert.deepEqual(after.spec.containers[0].volumeMounts.map((m: any) => [m.mountPath, m.readOnly]), [['/var/run/aesmd', true], ['/var/run/confkube/attestation-ca', true]]);
  assert.deepEqual(after.spec.volumes.map((v: any) => v.name), ['aesmd-socket', 'confkube-attestation-ca']);
  // In-process quoting: the named container quotes, so it is an enclave container and gets them too.
  const inProc = enclavePod('apps', {}, { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }, { name: 'quoter', image: 'q' }] }, { 'confkube.io/quote-provider': 'quoter' });
  const after2 = patched(inProc, await reviewRequest(reviewFor(inProc), 'mutate', options)) as any;
  assert.deepEqual(after2.spec.containers.map((c: any) => (c.env ?? []).length), [2, 2]);
  assert.equal(after2.spec.volumes.length, 1, 'one CA volume for both');
});

test('the validating pass does not refuse a pod for lacking the variables (a replica with another configuration may have mutated it)', async () => {
  const pod = enclavePod();
  const withoutInjection = patched(pod, await reviewRequest(reviewFor(pod), 'mutate'));
  const v = await reviewRequest(reviewFor(withoutInjection), 'validate', options);
  assert.equal(v.response.allowed, true, JSON.stringify(v.response.status));
});

test('property: any SGX pod with any existing env, mounts and volumes — the patch applies strictly, keeps every existing entry, and a second pass adds nothing', async () => {
  const name = fc.constantFrom('CONFKUBE_ATTESTATION_URL', 'CONFKUBE_ATTESTATION_CA', 'SGX_AESM_ADDR', 'OTHER');
  const env = fc.option(fc.array(fc.record({ name, value: fc.string({ maxLength: 5 }) }), { maxLength: 3 }), { nil: undefined });
  const mounts = fc.option(fc.array(fc.record({ name: fc.constantFrom('data', 'confkube-attestation-ca'), mountPath: fc.constantFrom('/data', '/var/run/confkube/attestation-ca', '/var/run/aesmd') }), { maxLength: 2 }), { nil: undefined });
  const container = fc.record({ env, volumeMounts: mounts }, { requiredKeys: [] });
  const volumes = fc.option(fc.array(fc.record({ name: fc.constantFrom('data', 'confkube-attestation-ca', 'aesmd-socket'), emptyDir: fc.constant({}) }), { maxLength: 2 }), { nil: undefined });
  const provider = fc.constantFrom(undefined, 'aesmd', 'app');
  await fc.assert(fc.asyncProperty(container, container, volumes, provider, async (c1, c2, vols, prov) => {
    const strip = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
    const pod = inNamespace(asKind('Pod', {
      metadata: { annotations: prov ? { 'confkube.io/quote-provider': prov } : {} },
      spec: {
        containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } }, ...strip(c1) }, { name: 'side', image: 'y', resources: { limits: { 'sgx.intel.com/epc': '1Mi' } }, ...strip(c2) }],
        ...(vols ? { volumes: vols } : {}),
      },
    }), 'apps');
    const out = await reviewRequest(reviewFor(pod), 'mutate', options);
    assert.equal(out.response.allowed, true);
    const after = patched(pod, out) as any;
    for (const [i, c] of [c1, c2].entries()) {
      const got = after.spec.containers[i];
      for (const e of c.env ?? []) assert.ok(got.env.some((x: any) => x.name === e.name && x.value === e.value), 'an existing variable is kept as it was');
      for (const n of ['CONFKUBE_ATTESTATION_URL', 'CONFKUBE_ATTESTATION_CA']) assert.ok(got.env.some((x: any) => x.name === n), `${n} is there`);
      assert.ok(got.volumeMounts.some((m: any) => m.mountPath === '/var/run/confkube/attestation-ca'));
      const mounted = got.volumeMounts.find((m: any) => m.mountPath === '/var/run/confkube/attestation-ca');
      const ours = !(c.volumeMounts ?? []).some((m) => m.mountPath === '/var/run/confkube/attestation-ca');
      if (ours) assert.ok(after.spec.volumes.some((v: any) => v.name === mounted.name), 'our mount has its volume');
    }
    assert.deepEqual(patchOf(await reviewRequest(reviewFor(after), 'mutate', options)), []);
  }), { numRuns: 150 });
});

test('readCaBundle: certificates only; a key, garbage or a missing file is a WebhookConfigError that names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-ca-'));
  try {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIBejCCASCgAwIBAgIUOqQ8rTgdJ7y1J2nqGzEGx3Se7W0wCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHdGVzdCBDQTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEwMDAwMDBaMBIxEDAOBgNVBAMMB3Rlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQ=\n-----END CERTIFICATE-----\n';
    const cases: [string, RegExp][] = [
      ['', /no PEM block/],
      ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /a PRIVATE KEY block, expected certificates only/],
      [pem, /does not parse/],
    ];
    for (const [text, re] of cases) {
      const f = join(dir, 'ca.crt');
      writeFileSync(f, text);
      assert.throws(() => readCaBundle(f), (e: Error & { code?: string }) => e.code === 'ERR_WEBHOOK_CONFIG' && re.test(e.message) && e.message.includes(f));
    }
    assert.throws(() => readCaBundle(join(dir, 'missing.crt')), /missing\.crt: ENOENT/);
    // A real certificate (Intel's TCB signing certificate) passes, with any text around the PEM blocks dropped.
    const good = fixtureText('sim/tcb_signing.pem').trim();
    writeFileSync(join(dir, 'good.crt'), `subject=CN=x\n${good}\n\n${good}\n`);
    assert.equal(readCaBundle(join(dir, 'good.crt')), `${good}\n${good}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
