// Enclave pods find the attestation service (docs/enclave-pods.md) on a real control plane: the chart installed
// with enclaveApps.attestation.inject, the webhook (running as its pod, with its ServiceAccount's token) publishes
// the service's CA into the listed namespace through the chart's Role, and SGX pods created through the real API
// server get CONFKUBE_ATTESTATION_URL, CONFKUBE_ATTESTATION_CA and the CA mount; ordinary pods and other
// namespaces do not. The published CA is checked against the running attestation service's TLS handshake. The
// quote helper's DaemonSet (docs/quote-helper.md) lands on the SGX node only, with its devices allocated.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { KubeConfig } from '@kubernetes/client-node';
import { CaConfigMapPublisher } from '../../src/admission/index.js';
import { after, before, describe, it } from 'node:test';
import { eventually } from './harness/control-plane.js';
import { installConfkube, NS, PLAIN_NODE, SGX_NODE, type Installed } from './harness/cluster.js';

interface Container { name: string; env?: { name: string; value?: string }[]; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }
interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string; containers: Container[]; volumes?: { name: string; configMap?: { name: string; items?: unknown[] } }[] };
  status?: { phase?: string };
}

const URL_ = `https://confkube-attestation.${NS}.svc`;
let c: Installed;

function sgxPod(name: string, env: { name: string; value: string }[] = []) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: {
      containers: [
        { name: 'app', image: 'enclave-app:1', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } }, ...(env.length ? { env } : {}) },
        { name: 'proxy', image: 'envoy:1' },
      ],
    },
  };
}

async function create(namespace: string, pod: unknown): Promise<Pod> {
  return (await c.api.post(`/api/v1/namespaces/${namespace}/pods`, pod)) as unknown as Pod;
}

describe('attestation URL and CA injected into enclave pods, on a real control plane', { timeout: 900_000 }, () => {
  before(async () => {
    c = await installConfkube(['--set', 'enclaveApps.attestation.inject=true', '--set', 'enclaveApps.attestation.namespaces={default}',
      '--set', 'quoteHelper.enabled=true', '--set', 'quoteHelper.image.tag=0.32.0']);
  });
  after(async () => {
    if (c) {
      if (process.env.CONFKUBE_E2E_LOGS) process.stderr.write(`--- webhook\n${c.cp.logTail('webhook', 40)}\n`);
      await c.stop();
    }
  });

  it('the webhook publishes the service CA into the listed namespace with its own token, and that CA verifies the running service', async () => {
    let cm: { metadata: { labels?: Record<string, string> }; data?: Record<string, string> } | null = null;
    await eventually('the CA ConfigMap in default', async () => {
      cm = (await c.api.find('/api/v1/namespaces/default/configmaps/confkube-attestation-ca')) as typeof cm;
      return cm !== null;
    }, 60_000, 300);
    const secret = (await c.api.get(`/api/v1/namespaces/${NS}/secrets/confkube-attestation-tls`)) as { data: Record<string, string> };
    const ca = Buffer.from(secret.data['ca.crt']!, 'base64').toString('utf8');
    assert.equal(cm!.data!['ca.crt']!.trim(), ca.trim());
    assert.deepEqual(Object.keys(cm!.data!), ['ca.crt'], 'the CA only');
    assert.equal(cm!.metadata.labels?.['app.kubernetes.io/component'], 'attestation-ca');

    // What an app does with it: a TLS connection to the attestation service, verified against that CA alone.
    const handshake = () => new Promise<boolean>((resolve, reject) => {
      const s = connect({ host: c.attestationIp, port: 8443, servername: new URL(URL_).hostname, ca: cm!.data!['ca.crt'] }, () => {
        resolve(s.authorized);
        s.end();
      });
      s.on('error', reject);
    });
    // The service's process may still be starting: wait until it listens, then the handshake must verify.
    await eventually('the attestation service listens', () => handshake().then(() => true, (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') return false;
      throw e;
    }), 60_000, 300);
    assert.equal(await handshake(), true);

    // The Role allows that one ConfigMap and nothing more.
    const sa = `system:serviceaccount:${NS}:confkube-webhook`;
    const can = (args: string[]) => c.cp.tryKubectl(['auth', 'can-i', '--as', sa, ...args]).stdout.trim();
    assert.equal(can(['update', 'configmaps/confkube-attestation-ca', '-n', 'default']), 'yes');
    assert.equal(can(['update', 'configmaps/kube-root-ca.crt', '-n', 'default']), 'no');
    assert.equal(can(['delete', 'configmaps/confkube-attestation-ca', '-n', 'default']), 'no');
    assert.equal(can(['create', 'configmaps', '-n', 'kube-public']), 'no');
  });

  it('an SGX pod created through the API server gets the two variables and the CA mounted read-only; its other container does not', async () => {
    const pod = await create('default', sgxPod('enclave-app'));
    const app = pod.spec.containers[0]!;
    assert.deepEqual(app.env, [
      { name: 'CONFKUBE_ATTESTATION_URL', value: URL_ },
      { name: 'CONFKUBE_ATTESTATION_CA', value: '/var/run/confkube/attestation-ca/ca.crt' },
    ]);
    assert.deepEqual(app.volumeMounts?.find((m) => m.name === 'confkube-attestation-ca'), { name: 'confkube-attestation-ca', mountPath: '/var/run/confkube/attestation-ca', readOnly: true });
    assert.equal(pod.spec.containers[1]!.env, undefined);
    const vol = pod.spec.volumes?.find((v) => v.name === 'confkube-attestation-ca');
    assert.equal(vol?.configMap?.name, 'confkube-attestation-ca');
    await eventually('the pod runs on the SGX node', async () => {
      const p = (await c.api.get('/api/v1/namespaces/default/pods/enclave-app')) as unknown as Pod;
      return p.status?.phase === 'Running' && p.spec.nodeName === SGX_NODE;
    }, 60_000, 300);
  });

  it("a pod's own URL is kept; ordinary pods and SGX pods of other namespaces get nothing", async () => {
    const own = await create('default', sgxPod('own-url', [{ name: 'CONFKUBE_ATTESTATION_URL', value: 'https://attest.example.com' }]));
    assert.deepEqual(own.spec.containers[0]!.env!.map((e) => [e.name, e.value]), [
      ['CONFKUBE_ATTESTATION_URL', 'https://attest.example.com'],
      ['CONFKUBE_ATTESTATION_CA', '/var/run/confkube/attestation-ca/ca.crt'],
    ]);
    const plain = await create('default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'nginx', image: 'nginx:1' }] } });
    assert.equal(plain.spec.containers[0]!.env, undefined);
    assert.ok(!(plain.spec.volumes ?? []).some((v) => v.name === 'confkube-attestation-ca'));
    c.cp.kubectl(['create', 'namespace', 'elsewhere']);
    const other = await create('elsewhere', sgxPod('enclave-app'));
    assert.equal(other.spec.containers[0]!.env, undefined, 'no CA ConfigMap is kept there');
    assert.ok(!(other.spec.volumes ?? []).some((v) => v.name === 'confkube-attestation-ca'));
    assert.deepEqual(Object.keys((other.spec.containers[0] as { resources?: { limits?: object } }).resources?.limits ?? {}).sort(), ['sgx.intel.com/enclave', 'sgx.intel.com/epc'], 'still mutated as an SGX pod');
  });

  it('the publisher against the API server: a changed CA is put back, a bad CA file publishes nothing, one missing namespace does not stop the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-ca-publish-'));
    try {
      const secret = (await c.api.get(`/api/v1/namespaces/${NS}/secrets/confkube-attestation-tls`)) as { data: Record<string, string> };
      const ca = Buffer.from(secret.data['ca.crt']!, 'base64').toString('utf8');
      const file = join(dir, 'ca.crt');
      writeFileSync(file, ca);
      const kc = new KubeConfig();
      kc.loadFromFile(c.cp.kubeconfig);
      c.cp.kubectl(['create', 'namespace', 'team-b']);
      const publisher = new CaConfigMapPublisher({ kubeConfig: kc, caFile: file, configMap: 'ca-test', namespaces: ['team-b', 'no-such-namespace', 'default'] });
      assert.deepEqual(Object.fromEntries(await publisher.sync()), { 'team-b': 'created', 'no-such-namespace': 'failed', default: 'created' });
      assert.deepEqual(Object.fromEntries(await publisher.sync()), { 'team-b': 'unchanged', 'no-such-namespace': 'failed', default: 'unchanged' });
      const path = '/api/v1/namespaces/team-b/configmaps/ca-test';
      await c.api.patch(path, { data: { 'ca.crt': 'tampered', other: 'kept' } });
      assert.equal((await publisher.sync()).get('team-b'), 'updated');
      assert.deepEqual(((await c.api.get(path)) as { data: Record<string, string> }).data, { 'ca.crt': ca.trim() + '\n', other: 'kept' });
      // A private key in the file: nothing is written anywhere.
      writeFileSync(file, `${ca}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`);
      assert.deepEqual([...(await publisher.sync()).values()], ['failed', 'failed', 'failed']);
      assert.equal(((await c.api.get(path)) as { data: Record<string, string> }).data['ca.crt'], ca.trim() + '\n');
      await publisher.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the quote helper runs on the SGX node only (the agent\'s labels), with the enclave and provisioning devices and its EPC', async () => {
    type HelperPod = { spec: { nodeName?: string; containers: { resources: { limits: Record<string, string> } }[] }; status?: { phase?: string } };
    let helpers: HelperPod[] = [];
    await eventually('the quote helper pod running', async () => {
      helpers = ((await c.api.get(`/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/component=quote-helper')}`)) as { items: HelperPod[] }).items;
      return helpers.some((p) => p.status?.phase === 'Running');
    }, 120_000, 500);
    assert.deepEqual(helpers.map((p) => p.spec.nodeName), [SGX_NODE], `nothing on ${PLAIN_NODE}`);
    const ds = (await c.api.get(`/apis/apps/v1/namespaces/${NS}/daemonsets/confkube-quote-helper`)) as { status: { desiredNumberScheduled: number } };
    assert.equal(ds.status.desiredNumberScheduled, 1, 'one SGX node, one helper');
    const limits = helpers[0]!.spec.containers[0]!.resources.limits;
    assert.equal(limits['sgx.intel.com/provision'], '1');
    assert.equal(limits['sgx.intel.com/enclave'], '1');
    assert.equal(limits['sgx.intel.com/epc'], '8Mi');
  });
});
