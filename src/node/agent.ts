import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { BackoffOptions } from '../kube/backoff.js';
import { loadKubeConfig } from '../kube/client.js';
import type { DependencyHealth, Informer } from '../kube/informer.js';
import type { PodLike } from '../kube/pod-requests.js';
import { createLogger, type Logger } from '../lib/log.js';
import { SgxDevicePlugin } from './device-plugin.js';
import { discover, type SgxDiscovery } from './discover.js';
import { applyEpcLimits, miscBase } from './epc-limits.js';
import { AgentConfigError } from './errors.js';
import { epcCapacityBytes, nodeLabels } from './labels.js';
import { NodeMetrics, podInfos, type PodInfo } from './metrics.js';
import { DEFAULT_SLOTS, DEVICE_PLUGIN_DIR, LABEL_EPC_ENFORCED } from './names.js';
import { NodeStatusReconciler } from './node-status.js';
import { nodePodInformer } from './pod-informer.js';
import { scanProc } from './proc-scan.js';

/** Where the agent serves /metrics, /healthz and /readyz by default: every pod address, so Prometheus can scrape it. */
export const DEFAULT_METRICS_ADDRESS = { host: '0.0.0.0', port: 9464 };

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
  /** Metrics and health listener; port 0 picks a free port; null turns it off. */
  metrics?: { host: string; port: number } | null;
  /** Write each container's misc.max sgx_epc from its EPC limit where the kernel has the EPC cgroup (default true). */
  enforceEpcLimits?: boolean;
  /** /healthz fails once a dependency (kubelet registration, API-server watch) has been lost this long (ms). */
  healthGraceMs?: number;
  now?: () => number;
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
  private pods: Informer<PodLike> | null = null;
  private limitsBase: string | null = null;
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
    // EPC limits are enforced only where the kernel's misc cgroup offers sgx_epc (misc.capacity lists it).
    this.limitsBase = d.sgx && (this.opts.enforceEpcLimits ?? true) ? miscBase(this.hostRoot) : null;
    this.metrics.setEnforced(this.limitsBase !== null);
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
        kubeConfig: this.kc, nodeName: this.nodeName, labels: this.labels(d), epcBytes: epcCapacityBytes(d),
        resyncMs: this.opts.resyncMs, backoff: this.opts.backoff, logger: this.log, metrics: this.metrics,
      });
      this.reconciler.start();
      if (d.sgx) {
        // Pods bound to this node, by watch: the API server sends what changes instead of the agent listing
        // every pod of the node every scan (docs/kube-operations.md §API load).
        this.pods = nodePodInformer(this.kc, this.nodeName, { backoff: this.opts.backoff, logger: this.log });
        this.pods.on('change', () => this.podsChanged());
        await this.pods.start();
      }
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

    const m = this.opts.metrics === undefined ? DEFAULT_METRICS_ADDRESS : this.opts.metrics;
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
      } else if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/readyz')) {
        // /readyz: every dependency works now. /healthz (liveness): none has been lost longer than the grace.
        const h = this.health();
        const ok = req.url === '/readyz' ? h.ready : h.live;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'failing', checks: h.checks }) + '\n');
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

  private labels(d: SgxDiscovery): Record<string, string | null> {
    return { ...nodeLabels(d), [LABEL_EPC_ENFORCED]: d.sgx ? String(this.limitsBase !== null) : null };
  }

  /** The node's pods from the informer's cache; null until its first list (EPC requested unknown, not zero). */
  private podInfos(): PodInfo[] | null {
    return this.pods?.hasSynced ? podInfos(this.pods.list()) : null;
  }

  /** A pod on this node changed: its EPC limits are written at once, not at the next scan. */
  private podsChanged(): void {
    if (this.limitsBase) this.enforce(this.podInfos());
  }

  private enforce(pods: PodInfo[] | null): void {
    if (!this.limitsBase || !pods) return;
    const r = applyEpcLimits(this.limitsBase, pods.flatMap((p) => p.epcLimits.map((l) => ({ podUid: p.uid, ...l }))));
    this.metrics.countLimitWrites(r.written);
    if (r.written > 0) this.log.info('EPC limits written to misc.max', { written: r.written, unchanged: r.unchanged });
    for (const e of r.errors) this.log.warn('cannot write an EPC limit', { reason: e });
  }

  /** Dependencies and whether the agent is ready (all work now) and live (none lost longer than the grace). */
  health(): { ready: boolean; live: boolean; checks: DependencyHealth[] } {
    const checks: DependencyHealth[] = [];
    if (this.reconciler) checks.push(this.reconciler.health());
    if (this.pods) checks.push(this.pods.health());
    for (const p of this.plugins) checks.push(p.health());
    const now = (this.opts.now ?? Date.now)();
    const grace = this.opts.healthGraceMs ?? 120_000;
    for (const c of checks) this.metrics.setDependency(c.name, c.ok);
    return { ready: checks.every((c) => c.ok), live: checks.every((c) => c.ok || now - c.since < grace), checks };
  }

  /** One /proc scan with the pods from the informer; also picks up an aesmd that started after the agent. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const t0 = process.hrtime.bigint();
      const scan = scanProc(this.hostRoot);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const pods = this.podInfos();
      this.metrics.setUsage(this.discovery.epc.totalBytes, scan, pods, seconds);
      this.enforce(pods);
      this.health();
      const again = discover(this.hostRoot);
      if ((again.aesmd.socket !== null) !== (this.discovery.aesmd.socket !== null)) {
        this.log.info(again.aesmd.socket ? 'aesmd socket appeared' : 'aesmd socket disappeared');
        this.discovery = again;
        this.reconciler?.update(this.labels(again), epcCapacityBytes(again));
      }
    } finally {
      this.scanning = false;
    }
  }

  async stop(): Promise<void> {
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    await Promise.all(this.plugins.map((p) => p.stop()));
    await this.pods?.stop();
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
