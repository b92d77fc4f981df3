// The EPC custom metrics pipeline against metrics-server's resource metrics pipeline, measured in the same run.
// 1. Answer time of `pods/*/sgx_epc_utilization?labelSelector=` for 1,000 pods (handleMetrics in process: pod view,
//    sample lookup, MetricValueList JSON), against the anchor: metrics-server's answer for the same 1,000 pods (a
//    metrics.k8s.io PodMetricsList built from its in-memory store and serialised), which is what the HPA reads for
//    CPU and memory targets.
// 2. Gathering at 5,000 nodes × 30 pods: one node agent page (NodeMetrics, the agent's own exposition) fetched and
//    parsed per node per round, against the anchor: one kubelet /metrics/resource page for the same 30 pods (the
//    series metrics-server reads, in the kubelet's format) parsed by a generic exposition parser, per node per
//    metric-resolution round (15 s, both). Both pipelines talk to the nodes directly; API server requests per minute
//    are counted from the code paths (docs/autoscale.md §Load).
// Usage: npm run bench:autoscale [-- --nodes 5000 --pods 30 --seconds 2]
import { NodeMetrics, podInfos } from '../src/node/metrics.js';
import type { ProcScan } from '../src/node/proc-scan.js';
import { parsePodEpc } from '../src/autoscale/prom-text.js';
import { handleMetrics, type PodView } from '../src/autoscale/custom-metrics.js';
import type { TimedSample } from '../src/autoscale/gather.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NODES = arg('nodes', 5000);
const PODS = arg('pods', 30);
const SECONDS = arg('seconds', 2);
const MIB = 1024 * 1024;
const uid = (i: number): string => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

async function rate(fn: () => unknown | Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await fn();
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  while (performance.now() < end) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

// --- 1. a pods/* request for 1,000 pods
const N = 1000;
const pods: PodView[] = Array.from({ length: N }, (_, i) => ({ namespace: 'shop', name: `web-${i}`, uid: uid(i), requestBytes: 64 * MIB }));
const samples = new Map<string, TimedSample>(pods.map((p, i) => [p.uid, { namespace: 'shop', pod: p.name, podUid: p.uid, cgroupBytes: null, mappedBytes: (i % 64) * MIB, node: `n${i % 40}`, at: Date.now() }]));
const deps = { cluster: { listPods: async () => pods, objectPods: async () => pods }, samples: { get: (u: string) => samples.get(u) }, windowSeconds: 15 };
const query = new URLSearchParams({ labelSelector: 'app=web' });
const ours = await rate(async () => JSON.stringify((await handleMetrics('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_utilization', query, deps)).body));
const store = pods.map((p, i) => ({ name: p.name, cpu: (i % 900) * 1_000_000, mem: (i % 512) * MIB, at: Date.now() }));
const anchor = await rate(() => JSON.stringify({
  kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {},
  items: store.map((s) => ({
    metadata: { name: s.name, namespace: 'shop', creationTimestamp: new Date().toISOString(), labels: { app: 'web' } },
    timestamp: new Date(s.at).toISOString(), window: '15s',
    containers: [{ name: 'app', usage: { cpu: `${s.cpu}n`, memory: `${Math.round(s.mem / 1024)}Ki` } }],
  })),
}));

// --- 2. one node's page, ours and the kubelet's
function agentPage(): Promise<string> {
  const m = new NodeMetrics('aks-sgxpool-12345678-vmss000001');
  const list = Array.from({ length: PODS }, (_, i) => ({
    metadata: { name: `enclave-app-7c9d8f6b5-${i}`, namespace: 'shop', uid: uid(i) },
    spec: { containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', containerID: `containerd://${i.toString(16).padStart(64, '0')}` }] },
  }));
  const scan = {
    scanned: 400, enclaveProcesses: PODS, totalMappedBytes: 0, host: { mappedBytes: 0, processes: 0 },
    pods: list.map((p, i) => ({ podUid: p.metadata.uid, qos: 'guaranteed', mappedBytes: 0, processes: 1, miscCurrentBytes: null,
      containers: [{ containerId: i.toString(16).padStart(64, '0'), mappedBytes: 32 * MIB, processes: 1, miscCurrentBytes: 32 * MIB }] })),
  } as unknown as ProcScan;
  m.setUsage(64 * 1024 * MIB, scan, podInfos(list), 0.01);
  return m.text();
}

/** The kubelet's /metrics/resource for the same pods (one container each), as metrics-server scrapes it. */
function kubeletPage(): string {
  const ts = Date.now();
  const out: string[] = [];
  const fam = (name: string, help: string, type: string): void => void out.push(`# HELP ${name} [STABLE] ${help}`, `# TYPE ${name} ${type}`);
  fam('container_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the container in core-seconds', 'counter');
  for (let i = 0; i < PODS; i++) out.push(`container_cpu_usage_seconds_total{container="app",namespace="shop",pod="enclave-app-7c9d8f6b5-${i}"} ${1234.5 + i} ${ts}`);
  fam('container_memory_working_set_bytes', 'Current working set of the container in bytes', 'gauge');
  for (let i = 0; i < PODS; i++) out.push(`container_memory_working_set_bytes{container="app",namespace="shop",pod="enclave-app-7c9d8f6b5-${i}"} ${123456789 + i} ${ts}`);
  fam('container_start_time_seconds', 'Start time of the container since unix epoch in seconds', 'gauge');
  for (let i = 0; i < PODS; i++) out.push(`container_start_time_seconds{container="app",namespace="shop",pod="enclave-app-7c9d8f6b5-${i}"} 1.7e+09 ${ts}`);
  fam('node_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the node in core-seconds', 'counter');
  out.push(`node_cpu_usage_seconds_total 987654.3 ${ts}`);
  fam('node_memory_working_set_bytes', 'Current working set of the node in bytes', 'gauge');
  out.push(`node_memory_working_set_bytes 1.2e+10 ${ts}`);
  fam('pod_cpu_usage_seconds_total', 'Cumulative cpu time consumed by the pod in core-seconds', 'counter');
  for (let i = 0; i < PODS; i++) out.push(`pod_cpu_usage_seconds_total{namespace="shop",pod="enclave-app-7c9d8f6b5-${i}"} ${1234.5 + i} ${ts}`);
  fam('pod_memory_working_set_bytes', 'Current working set of the pod in bytes', 'gauge');
  for (let i = 0; i < PODS; i++) out.push(`pod_memory_working_set_bytes{namespace="shop",pod="enclave-app-7c9d8f6b5-${i}"} ${123456789 + i} ${ts}`);
  fam('scrape_error', '1 if there was an error while getting container metrics, 0 otherwise', 'gauge');
  out.push('scrape_error 0');
  return `${out.join('\n')}\n`;
}

/** A generic exposition parser (every sample line, every label), as metrics-server parses the kubelet's page. */
function parseAll(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    for (const _l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) n++;
    n += Number(m[3]) > 0 ? 1 : 0;
  }
  return n;
}

const agent = await agentPage();
const kubelet = kubeletPage();
const tAgent = await rate(() => parsePodEpc(agent));
const tKubelet = await rate(() => parseAll(kubelet));
const perMin = (60 / 15) * NODES;
const fmt = (x: number, d = 1): string => x.toFixed(d);

console.log(`pods/* for ${N} pods (in process, JSON out)`);
console.log(`  confkube custom.metrics.k8s.io  ${fmt(ours * 1000, 0)} µs/request`);
console.log(`  anchor metrics-server PodMetricsList  ${fmt(anchor * 1000, 0)} µs/request`);
console.log(`  ratio ${fmt(ours / anchor, 2)}×`);
console.log(`gathering at ${NODES} nodes × ${PODS} pods, every 15 s`);
console.log(`  confkube: agent page ${agent.length} B, parse ${fmt(tAgent * 1000, 0)} µs → ${fmt((agent.length * perMin) / MIB)} MiB/min, ${fmt((tAgent * perMin) / 1000, 2)} CPU-s/min, ${perMin} node GETs/min`);
console.log(`  anchor metrics-server: kubelet page ${kubelet.length} B, parse ${fmt(tKubelet * 1000, 0)} µs → ${fmt((kubelet.length * perMin) / MIB)} MiB/min, ${fmt((tKubelet * perMin) / 1000, 2)} CPU-s/min, ${perMin} node GETs/min`);
console.log(`  ratio bytes ${fmt(agent.length / kubelet.length, 2)}×, parse CPU ${fmt(tAgent / tKubelet, 2)}×`);
console.log('  API server requests/min from gathering: confkube 4 (agent pod list per round, watch cache); metrics-server 0 (node informer watch)');
console.log('  API server requests/min from answering: one pod list per HPA per sync (4/min at the default 15 s), both pipelines alike');
