import type { Command } from 'commander';
import { createLogger, isLogLevel } from '../../lib/log.js';
// The node agent (Kubernetes client, gRPC) loads only for the node commands: every other command starts faster.
import type { SgxDiscovery } from '../../node/index.js';
import { MIB } from '../../kube/names.js';
import { parseDuration, parseIntFlag, parseListenAddress, printJson, UsageError } from '../util.js';

function describe(d: SgxDiscovery): string {
  const lines: string[] = [];
  if (!d.sgx) lines.push('SGX: no (an ordinary node)');
  else lines.push(`SGX: yes (${d.sgx2 === null ? 'SGX1/SGX2 unknown' : d.sgx2 ? 'SGX2' : 'SGX1'}), Flexible Launch Control: ${d.flc ? 'yes' : 'no'}, driver: ${d.driver}`);
  if (d.cpuModel) lines.push(`CPU: ${d.cpuModel}`);
  lines.push(`EPC: ${(d.epc.totalBytes / MIB).toFixed(d.epc.totalBytes % MIB === 0 ? 0 : 2)} MiB (${d.epc.totalBytes} bytes, from ${d.epc.source})`);
  for (const n of d.epc.numa) lines.push(`  NUMA node ${n.node}: ${n.bytes / MIB} MiB`);
  lines.push(`devices: ${d.devices.found.map((x) => `${x.path} (${x.major}:${x.minor})`).join(', ') || 'none'}`);
  lines.push(`kernel: ${d.kernel ?? 'unknown'}`);
  lines.push(`aesmd: ${d.aesmd.socket ?? 'no socket'}`);
  lines.push(`EPC cgroup (misc sgx_epc): ${d.miscCgroup.sgxEpc ? `yes, capacity ${d.miscCgroup.capacityBytes} bytes` : 'no'}`);
  const pk = Object.entries(d.packages);
  if (pk.length) lines.push(`packages: ${pk.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const n of d.notes) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  const node = program.command('node').description('SGX on this node');
  node
    .command('discover')
    .description('report SGX support, device nodes, EPC per NUMA node, driver, aesmd and packages of this host (exit 0 either way: no SGX is a normal answer)')
    .option('--host-root <dir>', 'root of the host file system', '/')
    .option('--json', 'machine-readable output')
    .action(async (opts: { hostRoot: string; json?: boolean }) => {
      const { discover } = await import('../../node/index.js');
      const d = discover(opts.hostRoot);
      if (opts.json) printJson(d);
      else process.stdout.write(describe(d));
    });

  program
    .command('node-agent')
    .description('run the node agent (DaemonSet): node labels and sgx.intel.com/epc capacity, kubelet device plugins for sgx.intel.com/enclave and sgx.intel.com/provision, per-pod EPC metrics')
    .option('--host-root <dir>', 'root of the host file system (the DaemonSet\'s host mount)', '/')
    .option('--node-name <name>', 'this node\'s name (default: $NODE_NAME)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster, then $KUBECONFIG / ~/.kube/config)')
    .option('--no-kube', 'do not talk to the API server (no labels, capacity or pod names)')
    .option('--no-device-plugin', 'do not serve the kubelet device plugins')
    .option('--plugin-dir <dir>', 'the kubelet device plugin directory', '/var/lib/kubelet/device-plugins')
    .option('--slots <n>', 'shared slots per device plugin resource', '110')
    .option('--enclave-slots <n>', 'slots of sgx.intel.com/enclave (default: --slots)')
    .option('--provision-slots <n>', 'slots of sgx.intel.com/provision (default: --slots)')
    .option('--metrics-address <host:port>', 'listener for /metrics, /healthz and /readyz (plain HTTP), or "off"', process.env.CONFKUBE_METRICS_ADDRESS ?? '0.0.0.0:9464')
    .option('--no-epc-limits', 'do not write containers\' misc.max sgx_epc from their EPC limits (EPC limits stay scheduling only)')
    .option('--health-grace <duration>', '/healthz fails once the kubelet registration or an API-server watch has been lost this long', '2m')
    .option('--scan-interval <duration>', 'how often /proc is scanned for enclaves', '15s')
    .option('--check-interval <duration>', 'how often device nodes and kubelet.sock are checked', '1s')
    .option('--resync <duration>', 'the Node watch is re-opened and the Node re-read at least this often', '5m')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (opts: {
      hostRoot: string; nodeName?: string; kubeconfig?: string; kube: boolean; devicePlugin: boolean; pluginDir: string;
      slots: string; enclaveSlots?: string; provisionSlots?: string; metricsAddress: string; scanInterval: string;
      checkInterval: string; resync: string; logLevel: string; epcLimits: boolean; healthGrace: string;
    }) => {
      const slots = parseIntFlag(opts.slots, '--slots', 100_000);
      const level = opts.logLevel;
      if (!isLogLevel(level)) throw new UsageError(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(level)}`);
      const { NodeAgent } = await import('../../node/index.js');
      const agent = new NodeAgent({
        hostRoot: opts.hostRoot,
        nodeName: opts.nodeName,
        kube: opts.kube,
        kubeconfig: opts.kubeconfig,
        devicePlugin: opts.devicePlugin,
        pluginDir: opts.pluginDir,
        enclaveSlots: opts.enclaveSlots === undefined ? slots : parseIntFlag(opts.enclaveSlots, '--enclave-slots', 100_000),
        provisionSlots: opts.provisionSlots === undefined ? slots : parseIntFlag(opts.provisionSlots, '--provision-slots', 100_000),
        metrics: parseListenAddress(opts.metricsAddress, '--metrics-address'),
        scanIntervalMs: parseDuration(opts.scanInterval, '--scan-interval'),
        checkIntervalMs: parseDuration(opts.checkInterval, '--check-interval'),
        resyncMs: parseDuration(opts.resync, '--resync'),
        enforceEpcLimits: opts.epcLimits,
        healthGraceMs: parseDuration(opts.healthGrace, '--health-grace'),
        logger: createLogger({ level, base: { service: 'node-agent' } }),
      });
      await agent.start();
      // Run until the kubelet (or a user) stops the pod.
      await new Promise<void>((resolve) => {
        const stop = (sig: string): void => {
          agent.log.info('signal received; stopping', { signal: sig });
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await agent.stop();
    });
}
