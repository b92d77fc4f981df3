// API-server load of the node agents and the webhook, in calls (and bytes) per node per minute, against a
// counting kube-apiserver test peer (test/helpers/apiserver-peer.ts), with the real @kubernetes/client-node.
//
// Anchor, measured in the same run: the polling these parts did before — each agent listing its node's pods
// every 15 s (`listPodForAllNamespaces` with the spec.nodeName field selector) and the webhook listing every
// node whenever its 30 s cache expired under a steady stream of SGX pods.
// Now: each agent's pod informer (one list, then a watch; the watch is re-opened every 300 s, as client-go
// informers do well inside the API server's own 30–60 min limit), and the webhook's node informer.
//
// Time is compressed 60×: one real second is one modelled minute (the 15 s poll runs every 250 ms, the 300 s
// watch timeout is 5 s). Pods churn on every node during both phases (one pod created or deleted per node per
// modelled minute), which costs the polling nothing extra and the watch one event each.
// Usage: npm run bench:apiload [-- --nodes 20 --minutes 12]
import { CoreV1Api } from '@kubernetes/client-node';
import { KubeCluster } from '../src/admission/index.js';
import { nodePodInformer } from '../src/node/pod-informer.js';
import { ApiServerPeer, type Json } from '../support/apiserver-peer.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const NODES = arg('nodes', 20);
const MINUTES = arg('minutes', 12);
const SCALE = 60; // modelled seconds per real second
const POLL_MS = (15 * 1000) / SCALE;
const WEBHOOK_TTL_MS = (30 * 1000) / SCALE;
const WATCH_TIMEOUT_S = 300 / SCALE;

const peer = new ApiServerPeer('node-0');
const nodeName = (i: number) => `node-${i}`;
for (let i = 1; i < NODES; i++) peer.addSgxNode(nodeName(i), '64Gi', { 'confkube.io/sgx': 'true' });
await peer.start();
const kc = peer.kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pod(node: number, n: number): Json {
  return {
    kind: 'Pod', apiVersion: 'v1',
    metadata: { name: `app-${node}-${n}`, namespace: 'prod', uid: `uid-${node}-${n}` },
    spec: { nodeName: nodeName(node), containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', containerID: `containerd://${String(n).padStart(64, '0')}` }] },
  };
}
for (let i = 0; i < NODES; i++) for (let n = 0; n < 5; n++) peer.apply('pods', pod(i, n));

/** One pod created or deleted per node per modelled minute, for the whole phase. */
async function churn(ms: number): Promise<void> {
  const end = Date.now() + ms;
  let round = 0;
  while (Date.now() < end) {
    for (let i = 0; i < NODES; i++) {
      if (round % 2 === 0) peer.apply('pods', pod(i, 100 + round));
      else peer.delete('pods', `app-${i}-${99 + round}`, 'prod');
    }
    round++;
    await sleep(1000);
  }
}

interface Load { agentCalls: number; agentBytes: number; webhookCalls: number; webhookBytes: number }

function measure(from: number): Load {
  const r = peer.requests.slice(from);
  const of = (p: string) => r.filter((x) => x.path === p);
  const sum = (xs: typeof r) => xs.reduce((s, x) => s + x.bytes, 0);
  return { agentCalls: of('/api/v1/pods').length, agentBytes: sum(of('/api/v1/pods')), webhookCalls: of('/api/v1/nodes').length, webhookBytes: sum(of('/api/v1/nodes')) };
}

// ---- before: polling ----
const realMs = MINUTES * 1000;
let from = peer.requests.length;
// Fixed-rate ticks, as the agent's scan timer was: at the real 15 s a list never overlaps the next one, so
// a tick here does not wait for the previous list either (the compressed clock would otherwise lose ticks).
const inFlight = new Set<Promise<unknown>>();
const track = (p: Promise<unknown>) => {
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
};
const timers = [
  ...Array.from({ length: NODES }, (_, i) => setInterval(() => track(core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName(i)}` })), POLL_MS)),
  setInterval(() => track(core.listNode()), WEBHOOK_TTL_MS),
];
await churn(realMs);
for (const t of timers) clearInterval(t);
await Promise.all(inFlight);
const before = measure(from);

// ---- now: informers ----
from = peer.requests.length;
const informers = Array.from({ length: NODES }, (_, i) => nodePodInformer(kc, nodeName(i), { watchTimeoutSeconds: WATCH_TIMEOUT_S }));
const cluster = new KubeCluster(kc, { nodeLabelSelector: 'confkube.io/sgx=true', watchTimeoutSeconds: WATCH_TIMEOUT_S });
await Promise.all([...informers.map((i) => i.start()), cluster.start()]);
await churn(realMs);
const now = measure(from);
await Promise.all([...informers.map((i) => i.stop()), cluster.stop()]);
await peer.cleanup();

const perNodeMin = (n: number) => n / NODES / MINUTES;
const f = (n: number, d = 2) => n.toFixed(d);
console.log(`API-server load, ${NODES} nodes, ${MINUTES} modelled minutes (time compressed ${SCALE}x), pod churn 1 per node per minute`);
console.log('agent (pods of its node)                  calls/node/min   bytes/node/min');
console.log(`  anchor: list every 15 s                 ${f(perNodeMin(before.agentCalls)).padStart(14)}   ${f(perNodeMin(before.agentBytes), 0).padStart(14)}`);
console.log(`  informer (list once, watch)             ${f(perNodeMin(now.agentCalls)).padStart(14)}   ${f(perNodeMin(now.agentBytes), 0).padStart(14)}`);
console.log(`  anchor / informer: ${f(before.agentCalls / Math.max(1, now.agentCalls), 1)}x fewer calls, ${f(before.agentBytes / Math.max(1, now.agentBytes), 1)}x fewer bytes`);
console.log('webhook (largest node EPC), one replica   calls/min        bytes/min');
console.log(`  anchor: list all nodes every 30 s       ${f(before.webhookCalls / MINUTES).padStart(14)}   ${f(before.webhookBytes / MINUTES, 0).padStart(14)}`);
console.log(`  node informer (SGX nodes, name + EPC)   ${f(now.webhookCalls / MINUTES).padStart(14)}   ${f(now.webhookBytes / MINUTES, 0).padStart(14)}`);
console.log(`  anchor / informer: ${f(before.webhookCalls / Math.max(1, now.webhookCalls), 1)}x fewer calls`);
console.log(`at 5,000 nodes: anchor ${f((perNodeMin(before.agentCalls) * 5000) / 60, 0)} agent list calls/s; informers ${f((perNodeMin(now.agentCalls) * 5000) / 60, 1)} calls/s (watch re-opens, served from the API server's watch cache)`);
console.log('(the informer figures include the start-up list and watch, spread over the run)');
