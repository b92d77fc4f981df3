import { ConfkubeError } from '../lib/errors.js';
import { CoreV1Api, PatchStrategy, Watch, setHeaderOptions, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { Backoff, sleep, type BackoffOptions } from '../kube/backoff.js';
import { describeKubeError } from '../kube/client.js';
import type { DependencyHealth } from '../kube/informer.js';
import type { Logger } from '../lib/log.js';
import { silentLogger } from '../lib/log.js';
import type { NodeMetrics } from './metrics.js';
import { EPC_RESOURCE } from './names.js';
import { parseQuantity } from '../kube/quantity.js';

export interface NodeStatusConfig {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Desired labels; null removes a label. */
  labels: Record<string, string | null>;
  /** EPC bytes to keep in status.capacity; null asserts nothing. */
  epcBytes: number | null;
  /** The watch is re-opened (and the Node re-read) at least this often. */
  resyncMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
  metrics?: NodeMetrics;
}

/** RFC 6901: `/` in a key is `~1` (docs/admission.md §JSON Patch). */
const EPC_POINTER = `/status/capacity/${EPC_RESOURCE.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Labels to change so that `current` matches `desired` (null = remove if present). */
export function labelDiff(current: Record<string, string> | undefined, desired: Record<string, string | null>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(desired)) {
    const cur = current?.[k];
    if (v === null ? cur !== undefined : cur !== v) out[k] = v;
  }
  return out;
}

function capacityBytes(node: V1Node): number | null {
  const q = node.status?.capacity?.[EPC_RESOURCE];
  if (q === undefined) return null;
  try {
    return parseQuantity(q);
  } catch {
    return null;
  }
}

/**
 * Keeps this node's labels and `sgx.intel.com/epc` capacity in place. The kubelet zeroes every
 * extended resource when the Node object is re-created (docs/node.md §Re-asserting capacity, `reconcileExtendedResource`),
 * so the agent watches its Node and re-asserts capacity whenever it is missing or different;
 * a one-shot patch (Intel's epchook) is not enough.
 */
export class NodeStatusReconciler {
  private readonly cfg: NodeStatusConfig;
  private readonly api: CoreV1Api;
  private readonly log: Logger;
  private stopped = false;
  private readonly stopController = new AbortController();
  private watchAbort: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private busy: Promise<void> | null = null;
  private pending: V1Node | null = null;
  private firstResolve!: () => void;
  /** Resolves once labels and capacity were first brought in line. */
  readonly ready: Promise<void>;
  /** Capacity patches sent (first assertion and re-assertions). */
  capacityPatches = 0;
  labelPatches = 0;
  private state: DependencyHealth = { name: 'apiserver-node-watch', ok: false, since: Date.now(), reason: 'not started' };

  constructor(cfg: NodeStatusConfig) {
    this.cfg = cfg;
    this.api = cfg.kubeConfig.makeApiClient(CoreV1Api);
    this.log = (cfg.logger ?? silentLogger).child({ component: 'node-status', node: cfg.nodeName });
    this.ready = new Promise((r) => (this.firstResolve = r));
  }

  /** New desired state (after a re-discovery): the watch is restarted, which re-reads the Node. */
  update(labels: Record<string, string | null>, epcBytes: number | null): void {
    if (JSON.stringify(labels) === JSON.stringify(this.cfg.labels) && epcBytes === this.cfg.epcBytes) return;
    this.cfg.labels = labels;
    this.cfg.epcBytes = epcBytes;
    this.watchAbort?.abort();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** The Node was read and is being watched (false while the API server cannot be reached or refuses us). */
  health(): DependencyHealth {
    return { ...this.state };
  }

  private setHealth(ok: boolean, reason: string | null): void {
    if (ok !== this.state.ok) this.state = { name: this.state.name, ok, since: Date.now(), reason };
    else if (!ok) this.state.reason = reason;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    this.watchAbort?.abort();
    await this.loop;
    await this.busy?.catch(() => {});
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.cfg.backoff);
    while (!this.stopped) {
      try {
        // Watch from the Node our own patches returned, so their events do not come back as news.
        const node = await this.reconcile(await this.api.readNode({ name: this.cfg.nodeName }));
        this.firstResolve();
        this.setHealth(true, null);
        if (backoff.attempts > 0) this.log.info('API server reachable again');
        backoff.reset();
        await this.watch(node.metadata?.resourceVersion);
      } catch (e) {
        if (this.stopped) break;
        this.setHealth(false, describeKubeError(e));
        const delay = backoff.next();
        this.log.warn('cannot reach or update the Node through the API server; will retry', {
          reason: describeKubeError(e), retryInMs: delay, attempt: backoff.attempts,
        });
        await sleep(delay, this.stopController.signal);
      }
    }
  }

  /** Resolves when the watch ends normally (server timeout: time to re-read); rejects on errors. */
  private watch(resourceVersion: string | undefined): Promise<void> {
    const resync = Math.max(1, Math.round((this.cfg.resyncMs ?? 300_000) / 1000));
    return new Promise<void>((resolve, reject) => {
      let failed: Error | null = null;
      // Stopping must not wait for a watch request that has no response headers yet.
      this.stopController.signal.addEventListener('abort', () => resolve(), { once: true });
      const w = new Watch(this.cfg.kubeConfig);
      w.watch('/api/v1/nodes', {
        fieldSelector: `metadata.name=${this.cfg.nodeName}`,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: resync,
      }, (type, obj: V1Node & { code?: number; message?: string }) => {
        if (type === 'ADDED' || type === 'MODIFIED') this.enqueue(obj);
        else if (type === 'DELETED') this.log.warn('the Node object was deleted; capacity is re-asserted when it is re-created');
        else if (type === 'ERROR') {
          // 410 Gone: our resourceVersion is too old; re-read and watch again.
          failed = new ConfkubeError('ERR_NODE_WATCH', `watch error ${obj.code ?? ''}: ${obj.message ?? ''}`);
          this.watchAbort?.abort();
        }
      }, (err: unknown) => {
        if (this.stopped) return resolve();
        if (failed) return (failed.message.startsWith('watch error 410') ? resolve() : reject(failed));
        if (err && (err as { name?: string }).name !== 'AbortError') reject(err as Error);
        else resolve();
      }).then((ac) => {
        this.watchAbort = ac;
        if (this.stopped) ac.abort();
      }, reject);
    });
  }

  /** Serialise reconciles; a burst of events collapses into the latest Node. */
  private enqueue(node: V1Node): void {
    this.pending = node;
    if (this.busy) return;
    this.busy = (async () => {
      while (this.pending && !this.stopped) {
        const n = this.pending;
        this.pending = null;
        try {
          await this.reconcile(n);
        } catch (e) {
          this.log.warn('reconcile after a Node event failed; the watch loop retries', { reason: describeKubeError(e) });
          this.watchAbort?.abort();
        }
      }
    })().finally(() => {
      this.busy = null;
    });
  }

  /** Bring one observed Node in line; returns the latest Node (a patch response or the input). */
  private async reconcile(observed: V1Node): Promise<V1Node> {
    let node = observed;
    const diff = labelDiff(node.metadata?.labels, this.cfg.labels);
    if (Object.keys(diff).length > 0) {
      node = await this.api.patchNode({ name: this.cfg.nodeName, body: { metadata: { labels: diff } } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      this.labelPatches++;
      this.log.info('labels patched', { labels: diff });
    }
    const want = this.cfg.epcBytes;
    if (want === null) return node;
    const have = capacityBytes(node);
    if (have === want) return node;
    const value = String(want);
    const body = node.status?.capacity
      ? [{ op: 'add', path: EPC_POINTER, value }]
      : [{ op: 'add', path: '/status/capacity', value: { [EPC_RESOURCE]: value } }];
    node = await this.api.patchNodeStatus({ name: this.cfg.nodeName, body }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    this.capacityPatches++;
    this.cfg.metrics?.countCapacityPatch();
    if (this.capacityPatches === 1 && have === null) this.log.info('EPC capacity asserted', { [EPC_RESOURCE]: value });
    else this.log.warn('EPC capacity was missing or changed; re-asserted', { [EPC_RESOURCE]: value, found: have });
    return node;
  }
}
