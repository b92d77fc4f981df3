// The planner on 10,000 pods and 1,000 nodes, against a naive first-fit of the same input measured in the same run.
// Input: 1,000 nodes in five pools (SGX with 168 MiB and with 64 GiB of EPC, one of them tainted; plain nodes in two
// zones; spot nodes, tainted) and 10,000 pods from 200 Deployments, Jobs and StatefulSets (EPC under the canonical
// name and the FAQ's MiB alias, cpu and memory requests, nodeSelectors, required affinity, tolerations).
// - planner: planFromObjects without a recommendation: every workload through the webhook's mutation, kube-scheduler's
//   filters, its search (feasible-node quota, rotating start) and its scores (LeastAllocated + BalancedAllocation).
// - anchor: first-fit: replicas expanded, requests read with the same quantity parser, aliases counted as MiB, each
//   pod put on the first node in list order that passes taints, selectors, affinity and fits — no scores.
// The ratio (planner time / first-fit time) is the result; absolute times depend on the machine.
// Usage: npm run bench:planner [-- --runs 5 --nodes 1000 --pods 10000]
import { planFromObjects, type NodeShape } from '../src/planner/index.js';
import { parseQuantity } from '../src/kube/quantity.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('runs', 5);
const NODE_COUNT = arg('nodes', 1000);
const POD_COUNT = arg('pods', 10000);
const MIB = 2 ** 20;
const GIB = 2 ** 30;

// --- the input
function makeNodes(): NodeShape[] {
  const nodes: NodeShape[] = [];
  for (let i = 0; i < NODE_COUNT; i++) {
    const k = i % 10;
    const sgxSmall = k < 2;
    const sgxBig = k === 2 || k === 3;
    const spot = k === 9;
    const zone = i % 2 ? 'a' : 'b';
    const pool = sgxSmall ? 'sgxsmall' : sgxBig ? 'sgxbig' : spot ? 'spot' : `plain${zone}`;
    const allocatable: Record<string, number> = { cpu: sgxBig ? 16000 : 8000, memory: (sgxBig ? 128 : 32) * GIB, pods: 110 };
    if (sgxSmall || sgxBig) Object.assign(allocatable, { 'sgx.intel.com/epc': sgxSmall ? 168 * MIB : 64 * GIB, 'sgx.intel.com/enclave': 110, 'sgx.intel.com/provision': 110 });
    nodes.push({
      name: `${pool}-${i}`,
      pool,
      labels: { agentpool: pool, zone, 'kubernetes.io/hostname': `${pool}-${i}`, 'confkube.io/sgx': String(sgxSmall || sgxBig) },
      taints: sgxBig ? [{ key: 'sgx', value: 'true', effect: 'NoSchedule' }] : spot ? [{ key: 'kubernetes.azure.com/scalesetpriority', value: 'spot', effect: 'NoSchedule' }] : [],
      allocatable,
    });
  }
  return nodes;
}

function makeObjects(): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  const perWorkload = POD_COUNT / 200;
  for (let w = 0; w < 200; w++) {
    const k = w % 8;
    const limits: Record<string, string | number> = {};
    const requests: Record<string, string> = { cpu: `${50 + (w % 5) * 50}m`, memory: `${64 + (w % 4) * 64}Mi` };
    const spec: Record<string, unknown> = {};
    if (k === 0) limits['sgx.intel.com/epc'] = `${4 + (w % 3) * 4}Mi`;
    if (k === 1) limits['sgx.intel.com/sgx_epc_mem_in_MiB'] = 2 + (w % 4);
    if (k === 2) {
      limits['sgx.intel.com/epc'] = `${64 + (w % 4) * 64}Mi`;
      spec.tolerations = [{ key: 'sgx', operator: 'Equal', value: 'true', effect: 'NoSchedule' }];
      spec.nodeSelector = { agentpool: 'sgxbig' };
    }
    if (k === 3) spec.nodeSelector = { zone: 'a' };
    if (k === 4) spec.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'agentpool', operator: 'In', values: ['plaina', 'plainb'] }] }] } } };
    if (k === 5) spec.tolerations = [{ key: 'kubernetes.azure.com/scalesetpriority', operator: 'Exists' }];
    spec.containers = [{ name: 'app', image: 'app:1', resources: { limits, requests } }];
    const kind = w % 3 === 0 ? 'Job' : w % 3 === 1 ? 'Deployment' : 'StatefulSet';
    const count = kind === 'Job' ? { parallelism: perWorkload } : { replicas: perWorkload };
    objects.push({ apiVersion: 'apps/v1', kind, metadata: { name: `w${w}`, namespace: 'bench' }, spec: { ...count, template: { metadata: {}, spec } } });
  }
  return objects;
}

// --- the anchor: naive first-fit
interface FfPod {
  requests: Record<string, number>;
  nodeSelector: Record<string, string>;
  tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
  inValues: { key: string; values: string[] } | null;
}

function firstFit(objects: Record<string, unknown>[], nodes: NodeShape[]): number {
  const pods: FfPod[] = [];
  for (const o of objects) {
    const spec = (o.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    const n = (o.spec as { replicas?: number; parallelism?: number }).replicas ?? (o.spec as { parallelism?: number }).parallelism ?? 1;
    const c = (spec.containers as { resources: { limits: Record<string, string | number>; requests: Record<string, string> } }[])[0];
    const requests: Record<string, number> = { cpu: parseQuantity(c.resources.requests.cpu) * 1000, memory: parseQuantity(c.resources.requests.memory) };
    for (const [k, v] of Object.entries(c.resources.limits)) {
      if (k === 'sgx.intel.com/sgx_epc_mem_in_MiB') requests['sgx.intel.com/epc'] = parseQuantity(v) * MIB;
      else requests[k] = parseQuantity(v);
      requests['sgx.intel.com/enclave'] = 1;
    }
    const term = (spec.affinity as { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchExpressions: { key: string; values: string[] }[] }[] } } } | undefined)?.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0];
    for (let i = 0; i < n; i++) pods.push({ requests, nodeSelector: (spec.nodeSelector as Record<string, string>) ?? {}, tolerations: (spec.tolerations as FfPod['tolerations']) ?? [], inValues: term ?? null });
  }
  const used = nodes.map(() => ({ pods: 0 }) as Record<string, number>);
  let placed = 0;
  for (const p of pods) {
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      if (node.taints.some((t) => !p.tolerations.some((x) => (x.key === undefined || x.key === t.key) && (x.operator === 'Exists' || x.value === t.value)))) continue;
      if (Object.entries(p.nodeSelector).some(([k, v]) => node.labels[k] !== v)) continue;
      if (p.inValues && !p.inValues.values.includes(node.labels[p.inValues.key])) continue;
      const u = used[i];
      if (u.pods + 1 > node.allocatable.pods) continue;
      if (Object.entries(p.requests).some(([k, v]) => (u[k] ?? 0) + v > (node.allocatable[k] ?? 0))) continue;
      for (const [k, v] of Object.entries(p.requests)) u[k] = (u[k] ?? 0) + v;
      u.pods++;
      placed++;
      break;
    }
  }
  return placed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const nodes = makeNodes();
const objects = makeObjects();
let plannerPlaced = 0;
let anchorPlaced = 0;
const plannerMs: number[] = [];
const anchorMs: number[] = [];
for (let r = 0; r < RUNS + 1; r++) {
  let t = performance.now();
  const plan = planFromObjects(objects, { nodes }, { recommend: false });
  const p = performance.now() - t;
  t = performance.now();
  anchorPlaced = firstFit(objects, nodes);
  const a = performance.now() - t;
  plannerPlaced = plan.placements.length;
  // The first round warms the JIT for both and is not counted.
  if (r > 0) {
    plannerMs.push(p);
    anchorMs.push(a);
  }
}
const pm = median(plannerMs);
const am = median(anchorMs);
console.log(`${POD_COUNT} pods on ${NODE_COUNT} nodes, median of ${RUNS} runs`);
console.log(`${'planner (webhook pass, filters, scheduler search and scores)'.padEnd(64)} ${pm.toFixed(1).padStart(9)} ms  placed ${plannerPlaced}`);
console.log(`${'anchor: naive first-fit (filters, first node that fits)'.padEnd(64)} ${am.toFixed(1).padStart(9)} ms  placed ${anchorPlaced}`);
console.log(`${'ratio planner / first-fit'.padEnd(64)} ${(pm / am).toFixed(2).padStart(9)} ×`);
