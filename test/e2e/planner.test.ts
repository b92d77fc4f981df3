// The planner against the real kube-scheduler: 50 pods (SGX and not, selectors, required affinity, taints and
// tolerations, a cordoned node) planned by `confkube plan --cluster` and then created one by one and scheduled by
// the unmodified kube-scheduler of the e2e control plane; then `confkube explain pod` on a pod left Pending.
// Real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, the confkube CLI. Simulated: the kubelets
// (harness/kubelets.ts); the SGX nodes' EPC and enclave slots are written into their status as the confkube node
// agent and device plugin would (the agent itself is tested in sgx-scheduling.test.ts).
//
// What is compared, and why. kube-scheduler breaks score ties at random and the planner takes the first node, so
// the placement is compared where it is decided by the rules and not by a tie:
// - every pod: scheduled by the scheduler ⇔ placed by the planner (exact);
// - every pod whose filters leave one node: the same node;
// - every other scheduled pod: the scheduler's node is one the planner's filters accept for it;
// - every Pending pod: the scheduler's FailedScheduling message begins with the planner's reason, word for word.
// The pods are made so that capacity binds only where one node is eligible (EPC on the two SGX nodes, each its own
// pool), so a random tie elsewhere cannot change which pods fit; and they are created one at a time, each after the
// previous one was decided, so the scheduler's queue order is the planner's (input order).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Api } from './harness/api.js';
import { eventually, startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { Kubelets } from './harness/kubelets.js';
import { CONFKUBE_CLI } from './harness/stand-ins.js';
import type { PlanResult } from '../../src/planner/index.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;

interface NodeDef {
  name: string;
  cpu: string;
  memory: string;
  labels: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  epcMiB?: number;
  cordoned?: boolean;
}

const NODES: NodeDef[] = [
  { name: 'sgx-a', cpu: '8', memory: '32Gi', labels: { agentpool: 'sgxa', zone: 'a', gen: '2' }, epcMiB: 168 },
  { name: 'sgx-b', cpu: '4', memory: '32Gi', labels: { agentpool: 'sgxb', zone: 'b', gen: '3' }, epcMiB: 4096, taints: [{ key: 'sgx', value: 'true', effect: 'NoSchedule' }] },
  { name: 'plain-a', cpu: '8', memory: '32Gi', labels: { agentpool: 'plain', zone: 'a', gen: '1' } },
  { name: 'plain-b', cpu: '8', memory: '32Gi', labels: { agentpool: 'plain', zone: 'b', gen: '1' } },
  { name: 'spot-0', cpu: '4', memory: '16Gi', labels: { agentpool: 'spot', zone: 'b', gen: '1' }, taints: [{ key: 'kubernetes.azure.com/scalesetpriority', value: 'spot', effect: 'NoSchedule' }] },
  { name: 'cordoned-0', cpu: '8', memory: '32Gi', labels: { agentpool: 'plain', zone: 'a', gen: '1' }, cordoned: true },
];

type Spec = Record<string, unknown>;
const container = (limits: Record<string, string>, requests: Record<string, string> = {}) => ({ name: 'app', image: 'app:1', resources: { limits, requests: { ...limits, ...requests } } });
const sgx = (epc: string) => container({ 'sgx.intel.com/epc': epc, 'sgx.intel.com/enclave': '1' });
const cpu = (c: string) => ({ name: 'app', image: 'app:1', resources: { requests: { cpu: c } } });
const affinity = (...matchExpressions: unknown[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions }] } } });

/** The kinds of pod, how many of each, and their specs (see the header for why each is shaped so). */
const KINDS: [string, number, Spec][] = [
  ['enclave', 9, { containers: [sgx('24Mi')] }], // sgx-a only (sgx-b tainted): 7 × 24 Mi fill its 168 Mi
  ['enclave-b', 9, { containers: [sgx('512Mi')], nodeSelector: { agentpool: 'sgxb' }, tolerations: [{ key: 'sgx', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }], // 8 fit in 4 GiB
  ['web', 13, { containers: [cpu('250m')] }], // any untainted, uncordoned node
  ['zone-b', 5, { containers: [cpu('100m')], nodeSelector: { zone: 'b' } }], // plain-b only
  ['spot', 5, { containers: [cpu('200m')], tolerations: [{ key: 'kubernetes.azure.com/scalesetpriority', operator: 'Exists' }], affinity: affinity({ key: 'agentpool', operator: 'In', values: ['spot'] }) }],
  ['not-plain', 3, { containers: [cpu('100m')], affinity: affinity({ key: 'agentpool', operator: 'NotIn', values: ['plain', 'spot'] }) }], // sgx-a only
  ['newest', 2, { containers: [cpu('100m')], tolerations: [{ operator: 'Exists' }], affinity: affinity({ key: 'gen', operator: 'Gt', values: ['2'] }) }], // sgx-b only
  ['zone-c', 2, { containers: [cpu('100m')], nodeSelector: { zone: 'c' } }], // nowhere
  ['huge-epc', 1, { containers: [sgx('8Gi')] }], // nowhere
  ['huge-cpu', 1, { containers: [cpu('16')] }], // nowhere
];

/** 50 pods, the kinds interleaved in a fixed order. */
function manifests(): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Spec }[] {
  const queue = KINDS.map(([name, n, spec]) => ({ name, left: n, spec, made: 0 }));
  const out = [];
  for (let round = 0; out.length < 50; round++) {
    for (const k of queue) {
      if (k.left === 0 || (round * 7 + k.name.length) % 3 === 2) continue;
      k.left--;
      out.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${k.name}-${k.made++}`, namespace: 'default' }, spec: { ...k.spec, automountServiceAccountToken: false } });
    }
  }
  return out;
}

interface LivePod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] };
}

let cp: ControlPlane;
let api: Api;
let kubelets: Kubelets;

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', CONFKUBE_CLI, ...args], { encoding: 'utf8', maxBuffer: 64 * MIB });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function failedScheduling(name: string): Promise<string | undefined> {
  const ev = (await api.get(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${name},reason=FailedScheduling`)}`)) as { items: { message: string }[] };
  return ev.items.at(-1)?.message;
}

describe('the planner agrees with kube-scheduler', { timeout: 600_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    api = new Api(cp.server, cp.pki);
    kubelets = new Kubelets(api);
    for (const n of NODES) await kubelets.add({ name: n.name, cpu: n.cpu, memory: n.memory, labels: n.labels, ...(n.taints ? { taints: n.taints } : {}) });
    kubelets.start();
    for (const n of NODES) {
      if (n.epcMiB) {
        // As the confkube node agent (EPC, bytes) and device plugin (enclave slots) advertise them.
        const r = { 'sgx.intel.com/epc': String(n.epcMiB * MIB), 'sgx.intel.com/enclave': '110', 'sgx.intel.com/provision': '110' };
        await api.patch(`/api/v1/nodes/${n.name}/status`, { status: { capacity: r, allocatable: r } }, 'strategic');
      }
      if (n.cordoned) await api.patch(`/api/v1/nodes/${n.name}`, { spec: { unschedulable: true } }, 'merge');
    }
    await eventually('nodes ready with EPC', async () => {
      const list = (await api.get('/api/v1/nodes')) as { items: { status: { allocatable: Record<string, string> } }[] };
      return list.items.length === NODES.length && list.items.filter((n) => Number(n.status.allocatable['sgx.intel.com/epc'] ?? 0) > 0).length === 2;
    });
    await eventually('the default service account', async () => (await api.find('/api/v1/namespaces/default/serviceaccounts/default')) !== null);
  });
  after(async () => {
    await kubelets?.stop();
    api?.close();
    await cp?.stop();
  });

  it('50 pods: feasibility, forced nodes, eligible nodes and Pending reasons agree; explain pod names what stops a Pending pod', async () => {
    const pods = manifests();
    assert.equal(pods.length, 50);
    const file = join(cp.dir, 'planner-pods.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));

    // The plan, from the CLI against the live cluster's nodes (nothing bound yet).
    const planned = await cli(['plan', '-f', file, '--cluster', cp.kubeconfig, '--json']);
    assert.equal(planned.status, 1, `unschedulable pods exit 1: ${planned.stderr}`);
    const plan = JSON.parse(planned.stdout) as PlanResult;
    const plannedNode = new Map(plan.placements.map((p) => [p.pod.replace('default/', ''), p.node]));
    const plannedReason = new Map(plan.unschedulable.map((u) => [u.pod.replace('default/', ''), u.reason]));
    assert.equal(plannedNode.size + plannedReason.size, 50);

    // Which nodes the filters accept for each pod, ignoring resources: the planner on the empty cluster, one pod at a time.
    const { planFromObjects, clusterTarget } = await import('../../src/planner/index.js');
    const liveNodes = ((await api.get('/api/v1/nodes')) as { items: unknown[] }).items;
    const { nodes } = clusterTarget(liveNodes, []);
    const roomy = nodes.map((n) => ({ ...n, allocatable: { ...n.allocatable, cpu: 1e9, memory: 1e18, ...(n.allocatable['sgx.intel.com/epc'] ? { 'sgx.intel.com/epc': 1e18 } : {}) } }));
    const eligible = (p: (typeof pods)[number]) => roomy.filter((n) => planFromObjects([p], { nodes: [n] }, { recommend: false }).placements.length === 1).map((n) => n.name);

    // The real scheduler, one pod at a time.
    const actual = new Map<string, string | null>();
    for (const p of pods) {
      await api.post('/api/v1/namespaces/default/pods', p);
      let live: LivePod | undefined;
      await eventually(`${p.metadata.name} decided`, async () => {
        live = (await api.get(`/api/v1/namespaces/default/pods/${p.metadata.name}`)) as unknown as LivePod;
        return !!live.spec.nodeName || !!live.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
      }, 60_000, 100);
      actual.set(p.metadata.name, live!.spec.nodeName ?? null);
    }

    let forced = 0;
    let free = 0;
    const disagreements: string[] = [];
    for (const p of pods) {
      const name = p.metadata.name;
      const got = actual.get(name) ?? null;
      const want = plannedNode.get(name) ?? null;
      if ((got === null) !== (want === null)) {
        disagreements.push(`${name}: scheduler ${got ?? `Pending (${await failedScheduling(name)})`}, planner ${want ?? `unschedulable (${plannedReason.get(name)})`}`);
        continue;
      }
      if (got === null) continue;
      const ok = eligible(p);
      if (ok.length === 1) {
        forced++;
        if (got !== want) disagreements.push(`${name}: only ${ok[0]} is eligible; scheduler ${got}, planner ${want}`);
      } else {
        free++;
        if (!ok.includes(got)) disagreements.push(`${name}: scheduler chose ${got}, which the planner's filters refuse (eligible: ${ok.join(', ')})`);
      }
    }
    assert.deepEqual(disagreements, []);
    // Each kind of rule was exercised: pods placed by force, pods with a choice, and Pending pods.
    assert.ok(forced >= 25 && free >= 10, `forced ${forced}, free ${free}`);
    const pending = pods.filter((p) => actual.get(p.metadata.name) === null).map((p) => p.metadata.name);
    assert.deepEqual(pending.sort(), ['enclave-7', 'enclave-8', 'enclave-b-8', 'huge-cpu-0', 'huge-epc-0', 'zone-c-0', 'zone-c-1']);

    // The scheduler's own words for each Pending pod start with the planner's.
    for (const name of pending) {
      let msg: string | undefined;
      await eventually(`FailedScheduling event for ${name}`, async () => (msg = await failedScheduling(name)) !== undefined, 30_000);
      assert.ok(msg!.startsWith(plannedReason.get(name)!), `${name}:\n  scheduler: ${msg}\n  planner:   ${plannedReason.get(name)}`);
    }

    // "Why is my pod Pending?" on the cluster, for an enclave pod that found the SGX node full.
    const ex = await cli(['explain', 'pod', 'enclave-8', '-n', 'default', '--kubeconfig', cp.kubeconfig]);
    assert.equal(ex.status, 0, ex.stderr);
    assert.match(ex.stdout, /EPC is exhausted on 1 SGX node it may use: sgx-a has 0 free of 168Mi\./);
    assert.match(ex.stdout, /1 node \(sgx-b\) has the taint sgx=true:NoSchedule, which the pod does not tolerate\./);
    assert.match(ex.stdout, /az aks nodepool add .*--node-vm-size Standard_DC1s_v2/);
    assert.ok(ex.stdout.includes(`The scheduler says: "${await failedScheduling('enclave-8')}"`), ex.stdout);
    const missing = await cli(['explain', 'pod', 'no-such-pod', '--kubeconfig', cp.kubeconfig]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /ERR_POD_NOT_FOUND: pod default\/no-such-pod does not exist/);

    // A manifest the webhook refuses (its review, with the cluster's largest EPC) never becomes a pod: explained from -f.
    const refused = join(cp.dir, 'too-big.json');
    writeFileSync(refused, JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'too-big' }, spec: { replicas: 1, template: { spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '8192' } } }] } } } }));
    const exf = await cli(['explain', 'pod', '-f', refused, '--kubeconfig', cp.kubeconfig, '--json']);
    assert.equal(exf.status, 0, exf.stderr);
    const refusal = JSON.parse(exf.stdout) as { state: string; text: string };
    assert.equal(refusal.state, 'refused');
    assert.match(refusal.text, /refuses default\/too-big, .*: Deployment asks for 8Gi of EPC on one node, but the largest SGX node \(sgx-b\) offers 4Gi/);

    // The live cluster as the plan's input: the Pending pods planned onto the nodes with what is bound counted.
    const live = await cli(['plan', '--cluster', cp.kubeconfig, '--json']);
    const again = JSON.parse(live.stdout) as PlanResult;
    assert.deepEqual(again.unschedulable.map((u) => u.pod.replace('default/', '')).sort(), pending.sort());
    assert.equal(again.nodes.find((n) => n.name === 'sgx-a')!.epc.headroom, 0);
    assert.equal(again.nodes.find((n) => n.name === 'sgx-b')!.epc.headroom, 0);
  });
});
