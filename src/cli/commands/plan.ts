import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT_REJECTED, UsageError, parseIntFlag, printJson, readInputFile } from '../util.js';
import { parseTaint } from './webhook.js';
import type { Catalogue, PlanResult, PoolSpec, Taint } from '../../planner/index.js';

interface PlanFlags {
  file: string[];
  catalogue?: string;
  pool: string[];
  cluster?: string | boolean;
  json?: boolean;
  namespace: string;
  webhook: boolean;
  sgxTaint?: string;
  clusterName?: string;
  resourceGroup?: string;
}

interface ExplainFlags {
  namespace: string;
  kubeconfig?: string;
  file?: string;
  json?: boolean;
  catalogue?: string;
}

const MIB = 2 ** 20;
const collect = (v: string, acc: string[]) => [...acc, v];

/** YAML or JSON documents of one file; YAML numbers under resource names become the API server's quantity strings. */
async function readDocuments(path: string): Promise<unknown[]> {
  const text = Buffer.from(readInputFile(path, 'manifest')).toString('utf8');
  const { loadAllYaml } = await import('@kubernetes/client-node');
  let docs: unknown[];
  try {
    docs = loadAllYaml(text);
  } catch (e) {
    throw new UsageError(`${path}: neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  return docs.filter((d) => d !== null && d !== undefined);
}

/** Files given, and the .yaml/.yml/.json files under directories given (recursively, in name order). */
function manifestFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean): void => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new UsageError(`cannot read manifest ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (st.isDirectory()) for (const f of readdirSync(p).sort()) walk(join(p, f), false);
    else if (top || /\.(ya?ml|json)$/i.test(p)) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return out;
}

async function catalogueFrom(path: string | undefined): Promise<Catalogue> {
  const { loadCatalogue } = await import('../../planner/index.js');
  if (path === undefined) return loadCatalogue();
  const docs = await readDocuments(path);
  return loadCatalogue(path, () => docs[0]);
}

function parsePool(s: string): PoolSpec {
  const m = /^(?:([a-z][a-z0-9]{0,11}):)?([A-Za-z0-9_.-]+)=(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--pool: expected [NAME:]SIZE=COUNT (e.g. Standard_DC4s_v3=3), got ${JSON.stringify(s)}`);
  return { ...(m[1] ? { name: m[1] } : {}), vmSize: m[2], count: parseIntFlag(m[3], '--pool count', 1000) };
}

/** Nodes and pods of the cluster (one list each). A failure is a typed ERR_CLUSTER_UNREACHABLE. */
async function readCluster(kubeconfig: string | undefined): Promise<{ nodes: unknown[]; pods: unknown[]; core: import('@kubernetes/client-node').CoreV1Api; kc: import('@kubernetes/client-node').KubeConfig }> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const { loadKubeConfig, describeKubeError } = await import('../../kube/client.js');
  const { PlannerError } = await import('../../planner/index.js');
  let kc;
  let core;
  try {
    kc = loadKubeConfig(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
  } catch (e) {
    throw new PlannerError('ERR_CLUSTER_UNREACHABLE', `kubeconfig ${kubeconfig ?? '(default)'}: ${(e as Error).message}`);
  }
  try {
    const [nodes, pods] = await Promise.all([core.listNode(), core.listPodForAllNamespaces()]);
    return { nodes: nodes.items, pods: pods.items, core, kc };
  } catch (e) {
    throw new PlannerError('ERR_CLUSTER_UNREACHABLE', `cannot read nodes and pods from ${kc.getCurrentCluster()?.server ?? 'the cluster'}: ${describeKubeError(e)}`);
  }
}

const mib = (b: number) => (b / MIB).toFixed(b % MIB === 0 ? 0 : 1);

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

function printPlan(r: PlanResult): void {
  const out: string[] = [];
  if (r.placements.length) out.push(table([['POD', 'WORKLOAD', 'NODE', 'POOL', 'EPC MiB'], ...r.placements.map((p) => [p.pod, p.workload, p.node, p.pool ?? '', mib(p.epcBytes)])]));
  if (r.nodes.length) {
    out.push(
      table([
        ['NODE', 'POOL', 'VM SIZE', 'EPC MiB', 'EPC REQUESTED', 'EPC HEADROOM', 'CPU m (REQ/ALLOC)', 'MEMORY MiB (REQ/ALLOC)', 'PODS'],
        ...r.nodes.map((n) => [n.name, n.pool ?? '', n.vmSize ?? '', mib(n.epc.capacity), mib(n.epc.requested), mib(n.epc.headroom), `${n.cpu.requested}/${n.cpu.capacity}`, `${mib(n.memory.requested)}/${mib(n.memory.capacity)}`, `${n.pods.requested}/${n.pods.capacity}`]),
      ]),
    );
  }
  if (r.unschedulable.length) out.push(`Unschedulable (${r.unschedulable.length}):\n` + r.unschedulable.map((u) => `  ${u.pod}: ${u.reason}`).join('\n') + '\n');
  else out.push('Every pod fits.\n');
  const rec = r.recommendation;
  if (rec && (rec.pools.length || rec.unfit.length)) {
    const cost = rec.pricePerHour !== undefined ? `${rec.pricePerHour.toFixed(2)} ${rec.currency ?? ''}/h`.trim() : `relative cost ${rec.relativeCost} (vCPUs; not money)`;
    out.push(`Cheapest pools to add${rec.fits ? '' : ' (not every pod fits even so)'}: ${rec.pools.map((p) => `${p.count} × ${p.vmSize}`).join(' + ') || 'none'}; ${cost}\n` + rec.commands.map((c) => `  ${c}`).join('\n') + '\n');
    for (const u of rec.unfit) out.push(`  ${u.pod}: ${u.reason}\n`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}\n`);
  process.stdout.write(out.join('\n'));
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('place pods on nodes or VM-size pools with the scheduler\'s rules: EPC headroom, unschedulable pods and why, the cheapest pools to add')
    .option('-f, --file <path>', 'manifest file or directory (repeatable; YAML or JSON; any workload kind)', collect, [] as string[])
    .option('--catalogue <file>', 'VM-size catalogue (YAML/JSON; default: the built-in Azure DCsv2/DCsv3/DCdsv3 sizes)')
    .option('--pool <[name:]size=count>', 'a pool of catalogue VM sizes to plan onto (repeatable)', collect, [] as string[])
    .option('--cluster [kubeconfig]', 'plan onto the live cluster\'s nodes (their bound pods counted); without -f, plan its pending pods')
    .option('-n, --namespace <ns>', 'namespace for objects without one', 'default')
    .option('--no-webhook', 'the cluster has no confkube webhook: no EPC alias rewrite, no devices added')
    .option('--sgx-taint <key[=value]:effect>', 'taint new SGX pools; SGX pods tolerate it (as the webhook\'s --sgx-taint does)')
    .option('--cluster-name <name>', 'for the az aks nodepool add lines')
    .option('--resource-group <name>', 'for the az aks nodepool add lines')
    .option('--json', 'print JSON')
    .action(async (o: PlanFlags) => {
      if (o.file.length === 0 && !o.cluster) throw new UsageError('plan: give manifests (-f FILE|DIR) or --cluster');
      const pools = o.pool.map(parsePool);
      const catalogue = await catalogueFrom(o.catalogue);
      const objects: unknown[] = [];
      for (const f of manifestFiles(o.file)) objects.push(...(await readDocuments(f)));
      const { planFromObjects, clusterTarget } = await import('../../planner/index.js');
      let nodes: import('../../planner/index.js').NodeShape[] = [];
      if (o.cluster) {
        const c = await readCluster(typeof o.cluster === 'string' ? o.cluster : undefined);
        const t = clusterTarget(c.nodes, c.pods);
        nodes = t.nodes;
        if (o.file.length === 0) objects.push(...t.pending);
      }
      let sgxTaint: Taint | undefined;
      if (o.sgxTaint) {
        const t = parseTaint(o.sgxTaint);
        sgxTaint = { key: t.key, ...(t.value ? { value: t.value } : {}), effect: t.effect ?? 'NoSchedule' };
      }
      const result = planFromObjects(objects, { nodes, pools }, { catalogue, namespace: o.namespace, webhook: o.webhook, recommend: { clusterName: o.clusterName, resourceGroup: o.resourceGroup, ...(sgxTaint ? { sgxTaint } : {}) } });
      if (o.json) printJson(result);
      else printPlan(result);
      if (result.unschedulable.length > 0) process.exitCode = EXIT_REJECTED;
    });

  const explain = program.command('explain').description('say in words what the cluster does with an object');
  explain
    .command('pod [name]')
    .description('why a pod is Pending (no SGX node, EPC exhausted, taints, selectors, the webhook\'s refusal) and what would fix it')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then ~/.kube/config)')
    .option('-f, --file <manifest>', 'explain a manifest not created yet (or refused): the webhook\'s review, then the scheduler\'s filters')
    .option('--catalogue <file>', 'VM-size catalogue for the suggested pool')
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, o: ExplainFlags) => {
      if ((name === undefined) === (o.file === undefined)) throw new UsageError('explain pod: give a pod NAME or -f MANIFEST (one of them)');
      const catalogue = await catalogueFrom(o.catalogue);
      const { explainPod, clusterTarget, PlannerError } = await import('../../planner/index.js');
      const c = await readCluster(o.kubeconfig);
      const { nodes } = clusterTarget(c.nodes, c.pods);
      let explanation;
      if (name !== undefined) {
        const { describeKubeError } = await import('../../kube/client.js');
        let pod: Record<string, unknown>;
        try {
          pod = (await c.core.readNamespacedPod({ name, namespace: o.namespace })) as unknown as Record<string, unknown>;
        } catch (e) {
          const code = (e as { code?: number }).code;
          if (code === 404) {
            throw new PlannerError('ERR_POD_NOT_FOUND', `pod ${o.namespace}/${name} does not exist. A pod the confkube webhook refused is never stored: its workload's FailedCreate events (kubectl get events -n ${o.namespace}) carry the refusal, and \`confkube explain pod -f MANIFEST\` explains the manifest`);
          }
          throw new PlannerError('ERR_CLUSTER_UNREACHABLE', `cannot read pod ${o.namespace}/${name}: ${describeKubeError(e)}`);
        }
        let schedulerMessage: string | undefined;
        try {
          const ev = await c.core.listNamespacedEvent({ namespace: o.namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` });
          const failed = ev.items.filter((e) => e.reason === 'FailedScheduling').sort((a, b) => String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')));
          schedulerMessage = failed.at(-1)?.message;
        } catch {
          // Events are a help, not a need: without them the planner renders the scheduler's message itself.
        }
        explanation = explainPod({ pod: JSON.parse(JSON.stringify(pod)) as Record<string, unknown>, nodes, catalogue, ...(schedulerMessage ? { schedulerMessage } : {}) });
      } else {
        explanation = await explainManifest(o.file!, o.namespace, c.kc, nodes, catalogue);
      }
      if (o.json) printJson(explanation);
      else process.stdout.write(explanation.text + '\n');
    });
}

/** A manifest through the webhook's own review (with the cluster's view: EPC sizes, namespaces), then explained. */
async function explainManifest(path: string, namespace: string, kc: import('@kubernetes/client-node').KubeConfig, nodes: import('../../planner/index.js').NodeShape[], catalogue: Catalogue) {
  const docs = await readDocuments(path);
  const { POD_SPEC_PATHS, KubeCluster, reviewRequest, applyJsonPatch } = await import('../../admission/index.js');
  const { explainPod, PlannerError } = await import('../../planner/index.js');
  const doc = docs.find((d) => typeof d === 'object' && d !== null && Object.hasOwn(POD_SPEC_PATHS, String((d as { kind?: unknown }).kind)));
  if (!doc) throw new PlannerError('ERR_PLAN_INPUT', `${path}: no Pod or workload in it`);
  const object = JSON.parse(JSON.stringify(doc), (k, v) => (typeof v === 'number' && k.includes('/') ? String(v) : v)) as Record<string, unknown>;
  const meta = (object.metadata ?? {}) as { namespace?: string; name?: string };
  const ns = meta.namespace ?? namespace;
  const kind = String(object.kind);
  const cluster = new KubeCluster(kc);
  let review;
  try {
    review = await reviewRequest({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'confkube-explain', operation: 'CREATE', kind: { kind }, namespace: ns, name: meta.name, object } }, 'mutate', { cluster });
  } finally {
    await cluster.stop();
  }
  const r = review.response;
  const podMeta = { name: meta.name ?? kind.toLowerCase(), namespace: ns };
  if (!r.allowed) return explainPod({ pod: { metadata: podMeta }, nodes, refusal: r.status?.message ?? 'refused', catalogue });
  const mutated = r.patch ? applyJsonPatch(object, JSON.parse(Buffer.from(r.patch, 'base64').toString('utf8')) as never[]) : object;
  let spec: unknown = mutated;
  for (const k of POD_SPEC_PATHS[kind]) spec = (spec as Record<string, unknown> | undefined)?.[k];
  return explainPod({ pod: { metadata: podMeta, spec: spec ?? {} }, nodes, catalogue });
}
