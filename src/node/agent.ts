import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { BackoffOptions } from './backoff.js';
import { SgxDevicePlugin } from './device-plugin.js';
import { discover, type SgxDiscovery } from './discover.js';
import { AgentConfigError } from './errors.js';
import { describeKubeError, listNodePods, loadKubeConfig } from './kube.js';
import { epcCapacityBytes, nodeLabels } from './labels.js';
import { createLogger, type Logger } from './log.js';
import { NodeMetrics, podInfos, type PodInfo } from './metrics.js';
import { DEFAULT_SLOTS, DEVICE_PLUGIN_DIR } from './names.js';
import { NodeStatusReconciler } from './node-status.js';
import { scanProc } from './proc-scan.js';

export interface AgentOptions {
  hostRoot?: string;
  nodeName?: string;
  /** Talk to the API server (labels, capacity, pods). */
  kube?: boolean;
  kubeconfig?: string;
  kubeConfig?: KubeConfig;
  devicePlugin?: boolean;
  pluginDir?: string;
  enclaveSlots?: number;
  provisionSlots?: number;
  /** Metrics listener; port 0 picks a free port; null turns it off. */
  metrics?: { host: string; port: number } | null;
  scanIntervalMs?: number;
  checkIntervalMs?: number;
  resyncMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
}

/**
 * The node agent (DaemonSet): discovery → labels and EPC capacity, device plugins, per-pod EPC
 * metrics. On a host without SGX it labels the node as such and idles — it never exits with an
 * error for that, so the DaemonSet does not crash-loop on ordinary nodes.
 */
export class NodeAgent {
  readonly opts: AgentOptions;
  readonly log: Logger;
  readonly hostRoot: string;
  discovery!: SgxDiscovery;
  metrics!: NodeMetrics;
  reconciler: NodeStatusReconciler | null = null;
  plugins: SgxDevicePlugin[] = [];
  private server: Server | null = null;
  private scanTimer: NodeJS.Timeout | null = null;
  private kc: KubeConfig | null = null;
  private podsFailing = false;
  private scanning = false;

  constructor(opts: AgentOptions = {}) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger();
    this.hostRoot = opts.hostRoot ?? '/';
  }

  get nodeName(): string {
    return this.opts.nodeName ?? process.env.NODE_NAME ?? '';
  }

  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (e) {
      // Leave nothing running (sockets, timers, watches) behind a failed start.
      await this.stop().catch(() => {});
      throw e;
    }
  }

  private async startParts(): Promise<void> {
    const kube = this.opts.kube ?? true;
    if (kube && !this.nodeName) throw new AgentConfigError('node name unknown: pass --node-name or set NODE_NAME (the downward API field spec.nodeName)');
    this.discovery = discover(this.hostRoot);
    const d = this.discovery;
    this.metrics = new NodeMetrics(this.nodeName);
    this.metrics.setDiscovery(d);
    if (d.sgx) {
      this.log.info('SGX node', { driver: d.driver, flc: d.flc, sgx2: d.sgx2, epcBytes: d.epc.totalBytes, numa: d.epc.numa, enclave: d.devices.enclave, provision: d.devices.provision, aesmd: d.aesmd.socket, epcCgroup: d.miscCgroup.sgxEpc, notes: d.notes });
    } else {
      this.log.info('no SGX on this host: labelling the node as non-SGX and idling', { notes: d.notes });
    }

    if (kube) {
      try {
        this.kc = this.opts.kubeConfig ?? loadKubeConfig(this.opts.kubeconfig);
      } catch (e) {
        throw new AgentConfigError(`cannot load Kubernetes client configuration: ${(e as Error).message}`);
      }
      this.reconciler = new NodeStatusReconciler({
        kubeConfig: this.kc, nodeName: this.nodeName, labels: nodeLabels(d), epcBytes: epcCapacityBytes(d),
        resyncMs: this.opts.resyncMs, backoff: this.opts.backoff, logger: this.log, metrics: this.metrics,
      });
      this.reconciler.start();
    }

    if (d.sgx && (this.opts.devicePlugin ?? true)) {
      const common = {
        hostRoot: this.hostRoot, pluginDir: this.opts.pluginDir ?? DEVICE_PLUGIN_DIR, checkIntervalMs: this.opts.checkIntervalMs,
        backoff: this.opts.backoff, logger: this.log, metrics: this.metrics,
      };
      this.plugins.push(new SgxDevicePlugin({ ...common, kind: 'enclave', slots: this.opts.enclaveSlots ?? DEFAULT_SLOTS }));
      // The legacy isgx driver has no provisioning device; advertise only what exists.
      if (d.devices.provision) this.plugins.push(new SgxDevicePlugin({ ...common, kind: 'provision', slots: this.opts.provisionSlots ?? DEFAULT_SLOTS }));
      for (const p of this.plugins) await p.start();
    }

    const m = this.opts.metrics === undefined ? { host: '127.0.0.1', port: 9464 } : this.opts.metrics;
    if (m) await this.listen(m.host, m.port);

    if (d.sgx) {
      await this.scan();
      this.scanTimer = setInterval(() => void this.scan(), this.opts.scanIntervalMs ?? 15_000);
    }
  }

  get metricsAddress(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  private async listen(host: string, port: number): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
        this.metrics.text().then((body) => {
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
          res.end(body);
        }, (e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(e.message);
        });
      } else if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.log.info('metrics listening', { address: `${host}:${(server.address() as AddressInfo).port}` });
  }

  /** One /proc scan plus the pod list; also picks up an aesmd that started after the agent. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const t0 = process.hrtime.bigint();
      const scan = scanProc(this.hostRoot);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let pods: PodInfo[] | null = null;
      if (this.kc) {
        try {
          pods = podInfos(await listNodePods(this.kc, this.nodeName));
          if (this.podsFailing) this.log.info('pod list available again');
          this.podsFailing = false;
        } catch (e) {
          if (!this.podsFailing) this.log.warn('cannot list pods on this node; EPC requested is not reported until it works', { reason: describeKubeError(e) });
          this.podsFailing = true;
        }
      }
      this.metrics.setUsage(this.discovery.epc.totalBytes, scan, pods, seconds);
      const again = discover(this.hostRoot);
      if ((again.aesmd.socket !== null) !== (this.discovery.aesmd.socket !== null)) {
        this.log.info(again.aesmd.socket ? 'aesmd socket appeared' : 'aesmd socket disappeared');
        this.discovery = again;
        this.reconciler?.update(nodeLabels(again), epcCapacityBytes(again));
      }
    } finally {
      this.scanning = false;
    }
  }

  async stop(): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    await Promise.all(this.plugins.map((p) => p.stop()));
    await this.reconciler?.stop();
    if (this.server) {
      const s = this.server;
      this.server = null;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    this.log.info('stopped');
  }
}
