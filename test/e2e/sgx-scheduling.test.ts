// The seed's promise on a real control plane: confkube installed from its chart, the AKS FAQ's Job applied with
// kubectl runs on the SGX node and never on the plain one, ordinary workloads are untouched, impossible EPC is
// refused at admission, and EPC comes back after the SGX node is re-created.
// Real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler (scripts/build-k8s.sh), helm, kubectl, the
// confkube webhook, node agents and attestation service. Simulated: the kubelets and the SGX hardware
// (harness/kubelets.ts speaks the device plugin API's wire protocol; the host roots are fixtures).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from './harness/control-plane.js';
import { installConfkube, NS, PLAIN_NODE, SGX_NODE, type Installed } from './harness/cluster.js';
import { runningPod, podToken } from './harness/stand-ins.js';
import { tokenKubeconfig } from './harness/pki.js';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CONFKUBE_CLI } from './harness/stand-ins.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const MIB = 1024 * 1024;
const HARNESS = fileURLToPath(new URL('./harness/', import.meta.url));
const AZURE_CLIENT = fileURLToPath(new URL('../attestation/helpers/azure-client.ts', import.meta.url));

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { nodeName?: string; containers: { name: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> }; volumeMounts?: unknown[]; env?: unknown[] }[]; volumes?: { name: string }[]; tolerations?: unknown[] };
  status?: { phase?: string };
}

let c: Installed;

async function pods(ns: string, selector: string): Promise<Pod[]> {
  return ((await c.api.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)) as { items: Pod[] }).items;
}

async function node(name: string): Promise<{ metadata: { labels: Record<string, string> }; status: { capacity: Record<string, string>; allocatable: Record<string, string> } }> {
  return (await c.api.get(`/api/v1/nodes/${name}`)) as never;
}

describe('confkube on a real control plane', { timeout: 900_000 }, () => {
  before(async () => {
    c = await installConfkube();
  });
  after(async () => {
    if (c) {
      if (process.env.CONFKUBE_E2E_LOGS) for (const n of ['webhook', `agent-${SGX_NODE}`, 'attestation']) process.stderr.write(`--- ${n}\n${c.cp.logTail(n, 40)}\n`);
      await c.stop();
    }
  });

  it('the node agent labels the SGX node and advertises its EPC (two NUMA nodes) and enclave slots; the plain node gets none', async () => {
    const sgx = await node(SGX_NODE);
    assert.equal(sgx.metadata.labels['confkube.io/sgx'], 'true');
    // The fixture: Standard_DC48s_v3, 128 GiB of EPC on each of two NUMA nodes.
    assert.equal(sgx.status.allocatable['sgx.intel.com/epc'], String(256 * 1024 * MIB));
    assert.equal(sgx.metadata.labels['confkube.io/epc-mib'], String(256 * 1024));
    assert.equal(sgx.status.allocatable['sgx.intel.com/enclave'], '110');
    await eventually('the plain node labelled', async () => (await node(PLAIN_NODE)).metadata.labels['confkube.io/sgx'] === 'false', 30_000);
    const plain = await node(PLAIN_NODE);
    assert.equal(plain.status.allocatable['sgx.intel.com/epc'], undefined);
    assert.equal(plain.status.allocatable['sgx.intel.com/enclave'], undefined);
  });

  it('the attestation service in the cluster answers the @azure/attestation client with a simulated quote', async () => {
    const svc = 'confkube-attestation';
    const host = `${svc}.${NS}.svc`;
    let address = '';
    let port = 0;
    await eventually('a ready endpoint of the attestation Service', async () => {
      const slices = (await c.api.get(`/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3D${svc}`)) as {
        items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[]; ports?: { port: number }[] }[];
      };
      const ep = slices.items.flatMap((x) => (x.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => ({ ip: e.addresses[0]!, port: x.ports?.[0]?.port ?? 0 })))[0];
      if (!ep) return false;
      ({ ip: address, port } = ep);
      return true;
    });
    assert.equal(address, c.attestationIp);
    const quote = join(c.cp.dir, 'sim-quote.bin');
    execFileSync(process.execPath, ['--import', 'tsx', CONFKUBE_CLI, 'sim', 'quote', join(c.attestationData, 'simulation'),
      '--mrenclave', 'ab'.repeat(32), '--mrsigner', 'cd'.repeat(32), '-o', quote], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ca = join(c.cp.dir, 'confkube-ca.crt');
    const caSecret = (await c.api.get(`/api/v1/namespaces/${NS}/secrets/confkube-ca`)) as { data: Record<string, string> };
    writeFileSync(ca, Buffer.from(caSecret.data['tls.crt']!, 'base64'));
    // The Service listens on 443 and targets the pod's port; with no kube-proxy the client dials the endpoint.
    await eventually('the service answering', () => {
      try {
        execFileSync('curl', ['-sf', '--cacert', ca, '--resolve', `${host}:${port}:${address}`, `https://${host}:${port}/.well-known/openid-configuration`], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    }, 60_000, 500);
    const base = `https://${host}:${port}`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', join(HARNESS, 'cluster-dns.ts'), AZURE_CLIENT, base,
      JSON.stringify([{ op: 'attest', quote }, { op: 'signers' }])], {
      encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: ca, CONFKUBE_E2E_DNS: JSON.stringify({ [host]: address }) },
    });
    const [attest, signers] = JSON.parse(out) as [{ ok: boolean; mrenclave?: string; token?: string; message?: string }, { ok: boolean; signers?: unknown[] }];
    assert.equal(attest.ok, true, attest.message);
    assert.equal(attest.mrenclave, 'ab'.repeat(32));
    const claims = JSON.parse(Buffer.from(attest.token!.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims['x-ms-sgx-is-simulated'], true);
    assert.equal(signers.ok, true);
  });

  it('the node agent works with its own ServiceAccount token: it may patch its node, not read Secrets nor patch another node', async () => {
    const pod = await runningPod(c.api, NS, 'app.kubernetes.io/component=node-agent', SGX_NODE);
    const kubeconfig = join(c.cp.dir, 'agent-probe.kubeconfig');
    writeFileSync(kubeconfig, tokenKubeconfig(c.cp.server, c.cp.pki.ca, 'agent-probe', await podToken(c.api, pod)), { mode: 0o600 });
    const as = (args: string[]) => c.cp.tryKubectl(['--kubeconfig', kubeconfig, ...args]);
    // tryKubectl passes the admin kubeconfig first; kubectl takes the last --kubeconfig given.
    const own = as(['label', 'node', SGX_NODE, 'confkube.test/probe=own', '--overwrite']);
    assert.equal(own.status, 0, own.stderr);
    const secrets = as(['get', 'secrets', '-n', NS]);
    assert.notEqual(secrets.status, 0);
    assert.match(secrets.stderr, /forbidden/i);
    const other = as(['label', 'node', PLAIN_NODE, 'confkube.test/probe=other', '--overwrite']);
    assert.notEqual(other.status, 0, 'an agent must not change another node');
    assert.match(other.stderr, /denied|forbidden/i);
  });

  it("the AKS FAQ's Job, applied with kubectl, runs on the SGX node with 10Mi of EPC and one enclave slot", async () => {
    // Verbatim but for the FAQ's `image: oeciteam/sgx-test: 1.0`, which no YAML parser accepts (nor kubectl).
    const job = readFileSync(join(FIXTURES, 'admission/faq-sgx-test-job.yaml'), 'utf8').replace('oeciteam/sgx-test: 1.0', 'oeciteam/sgx-test:1.0');
    c.cp.kubectl(['apply', '-n', 'default', '-f', '-'], job);
    let pod: Pod | undefined;
    await eventually('the Job pod bound and running', async () => {
      pod = (await pods('default', 'app=sgx-test')).find((p) => p.status?.phase === 'Running');
      return pod !== undefined;
    }, 60_000);
    assert.equal(pod!.spec.nodeName, SGX_NODE);
    const r = pod!.spec.containers[0]!.resources!;
    assert.deepEqual(r.limits, { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' });
    assert.deepEqual(r.requests, { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' });
  });

  it('an ordinary Deployment of 100 pods is admitted unchanged and spreads over both nodes', async () => {
    const deployment = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: {
        replicas: 100, selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27', resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } } }] },
        },
      },
    };
    c.cp.kubectl(['apply', '-f', '-'], JSON.stringify(deployment));
    let list: Pod[] = [];
    await eventually('100 web pods running', async () => {
      list = (await pods('default', 'app=web')).filter((p) => p.status?.phase === 'Running');
      return list.length === 100;
    }, 180_000, 1000);
    const nodes = new Set(list.map((p) => p.spec.nodeName));
    assert.deepEqual([...nodes].sort(), [PLAIN_NODE, SGX_NODE]);
    for (const p of list) {
      assert.equal(p.spec.containers.length, 1);
      assert.deepEqual(p.spec.containers[0]!.resources, deployment.spec.template.spec.containers[0]!.resources, p.metadata.name);
      assert.equal(p.spec.containers[0]!.env, undefined, p.metadata.name);
      // Only the API server's own projected token volume: nothing injected.
      assert.deepEqual((p.spec.volumes ?? []).map((v) => v.name.replace(/-[a-z0-9]+$/, '')), ['kube-api-access'], p.metadata.name);
      assert.equal(Object.keys(p.metadata.annotations ?? {}).some((k) => k.includes('confkube')), false, p.metadata.name);
    }
  });

  it('a pod asking more EPC than any node has is refused at admission, with the reason', () => {
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'too-big', namespace: 'default' },
      spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': String(512 * 1024) } } }] },
    };
    const r = c.cp.tryKubectl(['apply', '-f', '-'], JSON.stringify(pod));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /denied the request/);
    assert.match(r.stderr, /EPC/);
    assert.match(r.stderr, new RegExp(SGX_NODE));
  });

  it('after the SGX node is re-created (EPC zeroed, as the kubelet does) the agent re-asserts EPC and a pending pod schedules', async () => {
    const agent = c.agents.get(SGX_NODE)!.child;
    // Hold the agent so that the zeroed capacity is seen by the scheduler first.
    agent.kill('SIGSTOP');
    try {
      await c.kubelets.recreate(SGX_NODE);
      assert.equal((await node(SGX_NODE)).status.allocatable['sgx.intel.com/epc'], '0');
      const pod = {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'after-recreate', namespace: 'default' },
        spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '64' } } }] },
      };
      c.cp.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
      await eventually('the scheduler reporting insufficient EPC', () => {
        const ev = c.cp.kubectl(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=after-recreate,reason=FailedScheduling', '-o', 'json']);
        return /Insufficient sgx\.intel\.com\/epc/.test(ev);
      }, 60_000, 500);
    } finally {
      agent.kill('SIGCONT');
    }
    await eventually('EPC re-asserted', async () => (await node(SGX_NODE)).status.allocatable['sgx.intel.com/epc'] === String(256 * 1024 * MIB), 90_000);
    await eventually('the pending pod scheduled on the SGX node', async () => {
      const p = (await c.api.get('/api/v1/namespaces/default/pods/after-recreate')) as unknown as Pod;
      return p.spec.nodeName === SGX_NODE && p.status?.phase === 'Running';
    }, 90_000);
  });

  it('the webhook serves a renewed certificate without a restart, and the API server keeps admitting SGX pods through it', async () => {
    const ca = (await c.api.get(`/api/v1/namespaces/${NS}/secrets/confkube-ca`)) as { data: Record<string, string> };
    const caCert = join(c.cp.dir, 'renew-ca.crt');
    const caKey = join(c.cp.dir, 'renew-ca.key');
    writeFileSync(caCert, Buffer.from(ca.data['tls.crt']!, 'base64'));
    writeFileSync(caKey, Buffer.from(ca.data['tls.key']!, 'base64'), { mode: 0o600 });
    const sgxPod = (name: string) => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { 'confkube.io/sgx': 'true' } },
      spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '4' } } }] },
    });

    renewWebhookCertificate(c.webhookTls, caCert, caKey, 'c0ffee01');
    await eventually('the renewed certificate served', async () => (await servedSerial(c.webhookIp, 8443)) === 'C0FFEE01', 60_000, 500);
    c.cp.kubectl(['apply', '-f', '-'], sgxPod('after-renewal'));
    const pod = (await c.api.get('/api/v1/namespaces/default/pods/after-renewal')) as unknown as Pod;
    assert.equal(pod.spec.containers[0]!.resources!.limits!['sgx.intel.com/epc'], '4Mi');

    // A second renewal, and a second pod through it.
    renewWebhookCertificate(c.webhookTls, caCert, caKey, 'c0ffee02');
    await eventually('the second renewal served', async () => (await servedSerial(c.webhookIp, 8443)) === 'C0FFEE02', 60_000, 500);
    c.cp.kubectl(['apply', '-f', '-'], sgxPod('after-second-renewal'));
    const pod2 = (await c.api.get('/api/v1/namespaces/default/pods/after-second-renewal')) as unknown as Pod;
    assert.equal(pod2.spec.containers[0]!.resources!.limits!['sgx.intel.com/epc'], '4Mi');
  });
});

/** A serving certificate for the webhook's Service names, signed by the given CA, written the way the kubelet
 * updates a Secret volume: new files, then an atomic rename into place. */
function renewWebhookCertificate(dir: string, caCert: string, caKey: string, serial: string): void {
  const work = join(dir, '..', `renew-${serial}`);
  execFileSync('mkdir', ['-p', work]);
  const sans = `subjectAltName=DNS:confkube-webhook.${NS}.svc,DNS:confkube-webhook.${NS}.svc.cluster.local`;
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(work, 'tls.key')]);
  execFileSync('openssl', ['req', '-new', '-key', join(work, 'tls.key'), '-subj', `/CN=confkube-webhook.${NS}.svc`, '-out', join(work, 'tls.csr')]);
  writeFileSync(join(work, 'ext'), `${sans}\nextendedKeyUsage=serverAuth\n`);
  execFileSync('openssl', ['x509', '-req', '-in', join(work, 'tls.csr'), '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${serial}`,
    '-days', '2', '-extfile', join(work, 'ext'), '-out', join(work, 'tls.crt')], { stdio: 'ignore' });
  for (const f of ['tls.key', 'tls.crt']) {
    execFileSync('cp', [join(work, f), join(dir, `.${f}.new`)]);
    execFileSync('mv', ['-f', join(dir, `.${f}.new`), join(dir, f)]);
  }
}

/** The serial number of the certificate a TLS server presents (upper-case hex, as Node reports it). */
function servedSerial(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: `confkube-webhook.${NS}.svc`, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial.replace(/^0+/, ''));
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
  });
}
