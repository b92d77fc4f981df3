import type { Command } from 'commander';
import { printJson, UsageError } from '../util.js';
import { agentOptions, parseAgentUrl } from './autoscale.js';

interface PressureFlags {
  kubeconfig?: string;
  poolLabel: string[];
  json?: boolean;
  usage: boolean;
  agentUrl: string[];
  agentNamespace: string;
  agentSelector: string;
  agentPort: string;
}

const GIB = 1024 ** 3;
const gib = (b: number | null): string => (b === null ? '?' : (b / GIB).toFixed(1));

export function register(program: Command): void {
  const epc = program.command('epc').description('EPC across the cluster');
  const pressure = epc
    .command('pressure')
    .description('per node pool: EPC allocatable, requested, used and free, and pods pending on EPC')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then ~/.kube/config)')
    .option('--pool-label <label>', 'node label naming the pool (repeatable, first present wins; default agentpool, kubernetes.azure.com/agentpool)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--json', 'print JSON')
    .option('--no-usage', 'do not read the node agents (used stays unknown)');
  agentOptions(pressure)
    .action(async (o: PressureFlags) => {
      const agentPort = Number(o.agentPort);
      if (!Number.isInteger(agentPort) || agentPort < 1 || agentPort > 65535) throw new UsageError(`--agent-port: expected 1..65535, got ${JSON.stringify(o.agentPort)}`);
      const staticTargets = o.agentUrl.map(parseAgentUrl);
      const { loadKubeConfig } = await import('../../kube/client.js');
      const { epcPressure, DEFAULT_POOL_LABELS } = await import('../../autoscale/pressure.js');
      const { listForPressure } = await import('../../autoscale/pressure-metrics.js');
      const kc = loadKubeConfig(o.kubeconfig);
      let used: Map<string, number> | null = null;
      const unreadable: string[] = [];
      if (o.usage) {
        const { Gatherer } = await import('../../autoscale/gather.js');
        const { agentPodTargets } = await import('../../autoscale/kube-config.js');
        const g = new Gatherer({
          targets: staticTargets.length ? () => staticTargets : () => agentPodTargets(kc, o.agentNamespace, o.agentSelector, agentPort),
          onError: (t, e) => unreadable.push(`${t.name}: ${e.message}`),
        });
        await g.gatherOnce();
        used = g.usedByNode();
      }
      const { nodes, pods } = await listForPressure(kc);
      const pools = epcPressure(nodes, pods, used, o.poolLabel.length ? o.poolLabel : DEFAULT_POOL_LABELS);
      if (o.json) {
        printJson({ pools, unreadableAgents: unreadable });
        return;
      }
      const rows = [['POOL', 'NODES', 'ALLOCATABLE GiB', 'REQUESTED GiB', 'USED GiB', 'FREE GiB', 'REQUESTED %', 'PENDING (EPC SHORT)', 'PENDING (REQUEST EPC)']];
      for (const p of pools) {
        rows.push([p.pool, String(p.nodes), gib(p.allocatableBytes), gib(p.requestedBytes), gib(p.usedBytes), gib(p.freeBytes), (p.requestedRatio * 100).toFixed(0), String(p.pendingInsufficientEpc), String(p.pendingRequestingEpc)]);
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      for (const u of unreadable) process.stderr.write(`confkube: agent unreadable: ${u}\n`);
    });
}
