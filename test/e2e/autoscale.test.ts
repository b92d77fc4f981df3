// EPC-based horizontal autoscaling through Kubernetes' own HPA: the real kube-controller-manager calls confkube's
// custom metrics API through the real aggregator of the real kube-apiserver, and scales an enclave Deployment
// 1 → N → 1 as its EPC utilisation rises and falls.
// Real: etcd, kube-apiserver (aggregation layer, front-proxy client certificate), kube-controller-manager (HPA,
// sync period 5s, downscale stabilisation 15s), kube-scheduler, kubectl, `confkube autoscale` as its own process in
// the pod network with a ServiceAccount token (SubjectAccessReview, extension-apiserver-authentication ConfigMap).
// Simulated: the kubelets (harness/kubelets.ts) and the node agent's /metrics: an HTTP endpoint served by this test
// that reports, for every Running pod of the Deployment, enclave mappings of `load` × the pod's EPC request, in the
// agent's own exposition format (NodeMetrics); `load` is what the test raises and lowers.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NodeMetrics, podInfos } from '../../src/node/metrics.js';
import type { ProcScan } from '../../src/node/proc-scan.js';
import { Api } from './harness/api.js';
import { eventually, freePort, startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { Kubelets } from './harness/kubelets.js';
import { tokenKubeconfig } from './harness/pki.js';
import { CONFKUBE_CLI } from './harness/stand-ins.js';

const MIB = 1024 * 1024;
const NS = 'confkube-system';
const APP_NS = 'shop';
const SVC = 'confkube-autoscale';
const REQUEST_MIB = 64;
const GROUP = 'custom.metrics.k8s.io';

interface Pod {
  metadata: { name: string; namespace: string; uid: string };
  spec: { containers: { name: string; resources?: { limits?: Record<string, string> } }[] };
  status?: { phase?: string; containerStatuses?: { name: string; containerID?: string }[] };
}

let cp: ControlPlane;
let api: Api;
let kubelets: Kubelets;
let agent: Server;
let agentUrl = '';
/** The simulated enclave load: mapped EPC as a fraction of each pod's request. */
let load = 0.1;
const timeline: string[] = [];

async function appPods(): Promise<Pod[]> {
  const l = (await api.get(`/api/v1/namespaces/${APP_NS}/pods?labelSelector=app%3Denclave-app`)) as { items: Pod[] };
  return l.items.filter((p) => p.status?.phase === 'Running');
}

/** The node agent's /metrics for the app's pods at the current load, written by the agent's own NodeMetrics. */
async function agentMetrics(): Promise<string> {
  const pods = await appPods();
  const m = new NodeMetrics('sgx-0');
  const mapped = Math.round(load * REQUEST_MIB * MIB);
  const scan = {
    scanned: pods.length, enclaveProcesses: pods.length, totalMappedBytes: mapped * pods.length, host: { mappedBytes: 0, processes: 0 },
    pods: pods.map((p) => ({
      podUid: p.metadata.uid, qos: 'guaranteed', mappedBytes: mapped, processes: 1, miscCurrentBytes: null,
      containers: [{ containerId: null, mappedBytes: mapped, processes: 1, miscCurrentBytes: null }],
    })),
  } as unknown as ProcScan;
  m.setUsage(1024 * MIB, scan, podInfos(pods as never), 0.001);
  return m.text();
}

function raw(path: string): { status: number; body: string } {
  const r = cp.tryKubectl(['get', '--raw', path]);
  return { status: r.status, body: r.status === 0 ? r.stdout : r.stderr };
}

function servingCert(dir: string): { ca: string; cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const o = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  o(['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=confkube-autoscale-ca', '-keyout', 'ca.key', '-out', 'ca.crt']);
  o(['req', ...ec, '-subj', `/CN=${SVC}.${NS}.svc`, '-keyout', 'tls.key', '-out', 'tls.csr']);
  writeFileSync(join(dir, 'ext'), `subjectAltName=DNS:${SVC}.${NS}.svc,DNS:${SVC}.${NS}.svc.cluster.local\n`);
  o(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'tls.crt', '-extfile', 'ext']);
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

async function replicas(): Promise<{ spec: number; hpaCurrent: number; hpaDesired: number }> {
  const d = (await api.get(`/apis/apps/v1/namespaces/${APP_NS}/deployments/enclave-app`)) as { spec: { replicas: number } };
  const h = (await api.get(`/apis/autoscaling/v2/namespaces/${APP_NS}/horizontalpodautoscalers/enclave-app`)) as { status?: { currentReplicas?: number; desiredReplicas?: number } };
  return { spec: d.spec.replicas, hpaCurrent: h.status?.currentReplicas ?? 0, hpaDesired: h.status?.desiredReplicas ?? 0 };
}

async function record(what: string): Promise<number> {
  const r = await replicas();
  const running = (await appPods()).length;
  const line = `${new Date().toISOString().slice(11, 19)} load=${load.toFixed(2)} replicas=${r.spec} running=${running} hpa=${r.hpaCurrent}→${r.hpaDesired} (${what})`;
  if (timeline.at(-1)?.replace(/^\S+ /, '') !== line.replace(/^\S+ /, '')) {
    timeline.push(line);
    process.stdout.write(`# ${line}\n`);
  }
  return r.spec;
}

describe('EPC autoscaling through the real HPA and aggregator', { timeout: 900_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    api = new Api(cp.server, cp.pki);
    const adapterIp = cp.net.allocate();
    kubelets = new Kubelets(api);
    await kubelets.add({ name: 'sgx-0', labels: { agentpool: 'sgxpool' } });
    kubelets.start();
    // What the node agent would assert: the SGX node's EPC (the kubelet copies it into allocatable).
    await api.patch('/api/v1/nodes/sgx-0/status', { status: { capacity: { 'sgx.intel.com/epc': String(1024 * MIB) } } }, 'strategic');

    // The simulated agent, reachable from the pod network at the host's veth address.
    const agentPort = await freePort();
    agent = createServer((_req, res) => {
      agentMetrics().then((t) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(t),
        (e: Error) => res.writeHead(500).end(e.message));
    });
    await new Promise<void>((r) => agent.listen(agentPort, cp.net.hostIp, r));
    agentUrl = `sgx-0=http://${cp.net.hostIp}:${agentPort}/metrics`;

    // The adapter's ServiceAccount and the bindings an aggregated API server needs (the chart's autoscale.yaml).
    const apply = (o: unknown): void => void cp.kubectl(['apply', '-f', '-'], JSON.stringify(o));
    apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP_NS } });
    apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SVC, namespace: NS } });
    const subjects = [{ kind: 'ServiceAccount', name: SVC, namespace: NS }];
    apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${SVC}:auth-delegator` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' }, subjects });
    apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${SVC}:auth-reader`, namespace: 'kube-system' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'extension-apiserver-authentication-reader' }, subjects });
    apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: SVC }, rules: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'replicasets', 'daemonsets'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] },
    ] });
    apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: SVC }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: SVC }, subjects });

    // The adapter process, at its pod address, with its ServiceAccount's token.
    const tls = servingCert(join(cp.dir, 'autoscale-tls'));
    const tr = await api.post(`/api/v1/namespaces/${NS}/serviceaccounts/${SVC}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } });
    const kubeconfig = join(cp.dir, 'autoscale.kubeconfig');
    writeFileSync(kubeconfig, tokenKubeconfig(cp.podServer, cp.pki.ca, SVC, (tr.status as { token: string }).token), { mode: 0o600 });
    cp.startProcess('autoscale', process.execPath, ['--import', 'tsx', CONFKUBE_CLI, 'autoscale', `--address=${adapterIp}`, '--port=6443',
      `--tls-cert=${tls.cert}`, `--tls-key=${tls.key}`, `--agent-url=${agentUrl}`, '--interval=2'], {
      inPodNetwork: true, env: { KUBECONFIG: kubeconfig, NODE_NO_WARNINGS: '1' },
    });

    // Service without selector + Endpoints at the adapter's address; the APIServices for both versions.
    apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: SVC, namespace: NS }, spec: { ports: [{ name: 'https', port: 443, targetPort: 6443 }] } });
    apply({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: SVC, namespace: NS }, subsets: [{ addresses: [{ ip: adapterIp }], ports: [{ name: 'https', port: 6443 }] }] });
    const caBundle = readFileSync(tls.ca).toString('base64');
    for (const [version, priority] of [['v1beta2', 200], ['v1beta1', 100]] as const) {
      apply({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: `${version}.${GROUP}` }, spec: {
        group: GROUP, version, service: { namespace: NS, name: SVC, port: 443 }, caBundle, groupPriorityMinimum: 100, versionPriority: priority,
      } });
    }
    for (const version of ['v1beta2', 'v1beta1']) {
      await eventually(`APIService ${version}.${GROUP} Available`, async () => {
        const a = (await api.get(`/apis/apiregistration.k8s.io/v1/apiservices/${version}.${GROUP}`)) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
        const c = a.status?.conditions?.find((x) => x.type === 'Available');
        if (c?.status !== 'True') throw new Error(c?.message ?? 'no condition yet');
        return true;
      }, 120_000, 500);
    }

    // The enclave Deployment and its HPA on EPC utilisation (target: half the request on average).
    apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'enclave-app', namespace: APP_NS }, spec: {
      replicas: 1, selector: { matchLabels: { app: 'enclave-app' } },
      template: { metadata: { labels: { app: 'enclave-app' } }, spec: { containers: [{ name: 'enclave', image: 'example.invalid/enclave:1',
        resources: { limits: { 'sgx.intel.com/epc': `${REQUEST_MIB}Mi` } } }] } },
    } });
    await eventually('the first enclave pod Running', async () => (await appPods()).length === 1, 120_000);
  });

  after(async () => {
    if (timeline.length) process.stdout.write(`# replicas over time:\n${timeline.map((l) => `#   ${l}`).join('\n')}\n`);
    if (process.env.CONFKUBE_E2E_LOGS && cp) process.stderr.write(`--- autoscale\n${cp.logTail('autoscale', 40)}\n--- kube-controller-manager\n${cp.logTail('kube-controller-manager', 40)}\n`);
    agent?.close();
    await kubelets?.stop();
    api?.close();
    await cp?.stop();
  });

  it('kubectl get --raw answers every path the HPA uses, with the values the agent reports', async () => {
    load = 0.25;
    const pod = (await appPods())[0]!;
    for (const version of ['v1beta2', 'v1beta1']) {
      const disc = raw(`/apis/${GROUP}/${version}`);
      assert.equal(disc.status, 0, disc.body);
      assert.ok((JSON.parse(disc.body) as { resources: { name: string }[] }).resources.some((r) => r.name === 'pods/sgx_epc_utilization'));
    }
    const group = JSON.parse(raw(`/apis/${GROUP}`).body) as { preferredVersion: { version: string } };
    assert.equal(group.preferredVersion.version, 'v1beta2');

    const expected = { sgx_epc_used_bytes: String(0.25 * REQUEST_MIB * MIB), sgx_epc_requested_bytes: String(REQUEST_MIB * MIB), sgx_epc_utilization: '250m' };
    for (const [metric, value] of Object.entries(expected)) {
      for (const version of ['v1beta2', 'v1beta1']) {
        const paths = [
          `/apis/${GROUP}/${version}/namespaces/${APP_NS}/pods/*/${metric}?labelSelector=${encodeURIComponent('app=enclave-app')}`,
          `/apis/${GROUP}/${version}/namespaces/${APP_NS}/pods/${pod.metadata.name}/${metric}`,
          `/apis/${GROUP}/${version}/namespaces/${APP_NS}/deployments.apps/enclave-app/${metric}`,
        ];
        for (const p of paths) {
          let last = '';
          await eventually(`${p} = ${value}`, () => {
            const r = raw(p);
            last = r.body;
            const items = r.status === 0 ? (JSON.parse(r.body) as { items: { value: string }[] }).items : [];
            return items.length === 1 && items[0]!.value === value;
          }, 30_000, 500).catch((e: Error) => assert.fail(`${e.message}; last answer: ${last.slice(0, 300)}`));
        }
      }
    }
    // What the API defines as bad requests come back as such through the aggregator.
    const bad = cp.tryKubectl(['get', '--raw', `/apis/${GROUP}/v1beta2/namespaces/${APP_NS}/pods/*/sgx_epc_used_bytes?labelSelector=${encodeURIComponent('app in (')}`]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /BadRequest|400|labelSelector/);
    // A user without RBAC on custom.metrics.k8s.io reads nothing.
    const nobody = cp.tryKubectl(['get', '--raw', `/apis/${GROUP}/v1beta2/namespaces/${APP_NS}/pods/*/sgx_epc_used_bytes`, '--as=nobody']);
    assert.notEqual(nobody.status, 0);
    assert.match(nobody.stderr, /Forbidden|forbidden/);
    const unknown = cp.tryKubectl(['get', '--raw', `/apis/${GROUP}/v1beta2/namespaces/${APP_NS}/pods/*/cpu_usage`]);
    assert.match(unknown.stderr, /NotFound|could not find/);
  });

  it('an HPA on EPC utilisation scales the enclave Deployment 1 → N → 1', async () => {
    await api.post(`/apis/autoscaling/v2/namespaces/${APP_NS}/horizontalpodautoscalers`, {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'enclave-app', namespace: APP_NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'enclave-app' }, minReplicas: 1, maxReplicas: 4,
        metrics: [{ type: 'Pods', pods: { metric: { name: 'sgx_epc_utilization' }, target: { type: 'AverageValue', averageValue: '500m' } } }],
      },
    });
    load = 0.2;
    await eventually('the HPA reading the metric at 1 replica', async () => {
      const h = (await api.get(`/apis/autoscaling/v2/namespaces/${APP_NS}/horizontalpodautoscalers/enclave-app`)) as { status?: { currentMetrics?: { pods?: { current?: { averageValue?: string } } }[] } };
      await record('low load');
      return h.status?.currentMetrics?.[0]?.pods?.current?.averageValue === '200m';
    }, 120_000, 1000);
    assert.equal(await record('steady'), 1);

    load = 0.9;
    let peak = 1;
    await eventually('scale-up to 4 replicas', async () => {
      peak = Math.max(peak, await record('high load'));
      return peak === 4 && (await appPods()).length === 4;
    }, 240_000, 1000);

    load = 0.1;
    await eventually('scale-down to 1 replica', async () => (await record('load gone')) === 1, 240_000, 1000);
    assert.ok(timeline.some((l) => / replicas=1 .*low load/.test(l)) && timeline.some((l) => / replicas=4 /.test(l)), timeline.join('\n'));
  });

  it('confkube epc pressure: the pool\'s EPC and a pod the scheduler turned away for EPC', async () => {
    await api.post(`/api/v1/namespaces/${APP_NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'too-big' }, spec: {
      nodeSelector: { agentpool: 'sgxpool' }, containers: [{ name: 'enclave', image: 'example.invalid/enclave:1', resources: { limits: { 'sgx.intel.com/epc': '2Gi' } } }],
    } });
    await eventually('too-big Unschedulable for EPC', async () => {
      const p = (await api.get(`/api/v1/namespaces/${APP_NS}/pods/too-big`)) as { status?: { conditions?: { type: string; reason?: string; message?: string }[] } };
      return (p.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable' && /Insufficient sgx\.intel\.com\/epc/.test(c.message ?? ''));
    }, 60_000, 500);
    const running = (await appPods()).length;
    // Asynchronous: the simulated kubelets run in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CONFKUBE_CLI, 'epc', 'pressure', '--json', `--kubeconfig=${cp.kubeconfig}`, `--agent-url=${agentUrl}`], { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    process.stdout.write(`# confkube epc pressure --json:\n${stdout.replace(/^/gm, '#   ')}\n`);
    const pool = (JSON.parse(stdout) as { pools: Record<string, unknown>[] }).pools.find((p) => p.pool === 'sgxpool');
    assert.deepEqual(pool, {
      pool: 'sgxpool', nodes: 1, allocatableBytes: 1024 * MIB, requestedBytes: running * REQUEST_MIB * MIB,
      usedBytes: running * Math.round(load * REQUEST_MIB * MIB), freeBytes: (1024 - running * REQUEST_MIB) * MIB,
      requestedRatio: (running * REQUEST_MIB) / 1024, pendingInsufficientEpc: 1, pendingRequestingEpc: 1,
    });
  });
});
