import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import type { BackoffOptions } from '../kube/backoff.js';
import { describeKubeError } from '../kube/client.js';
import { Informer, type DependencyHealth } from '../kube/informer.js';
import { parseQuantity } from '../kube/quantity.js';
import type { Logger } from '../lib/log.js';
import { EPC_RESOURCE } from './names.js';
import type { ClusterView } from './review.js';

export interface KubeClusterOptions {
  /** How long namespace annotations and ConfigMaps are reused before they are read again (ms). */
  ttlMs?: number;
  /** Per-call timeout: the API server waits for the webhook at most `timeoutSeconds`. */
  callTimeoutMs?: number;
  /** Entries kept per cache (namespaces, ConfigMaps). */
  maxEntries?: number;
  /**
   * Nodes the informer watches (an equality label selector). The confkube agent labels SGX nodes
   * `confkube.io/sgx=true`; watching only them keeps every other node's status updates off the wire.
   */
  nodeLabelSelector?: string;
  /** Each node watch request is re-opened after this long (s; default 300). */
  watchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
}

export interface LargestEpc {
  bytes: number;
  node: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer from the API server within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}

interface Cached<T> {
  at: number;
  value: T;
}

/** A small TTL map: bounded, and one request in flight per key however many reviews ask at once. */
class TtlCache<T> {
  private readonly entries = new Map<string, Cached<T>>();
  private readonly inFlight = new Map<string, Promise<T>>();
  constructor(
    private readonly ttl: number,
    private readonly max: number,
  ) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttl) return Promise.resolve(hit.value);
    let p = this.inFlight.get(key);
    if (!p) {
      p = load()
        .then((value) => {
          if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
          this.entries.delete(key);
          this.entries.set(key, { at: Date.now(), value });
          return value;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }
}

/** What a ConfigMap key holds for the SIGSTRUCT check. */
export type ConfigMapEntry = Uint8Array | null;

/** What the webhook keeps of a Node: its name and EPC (a Node's image list alone is often 10–50 KB). */
function slimNode(n: V1Node): V1Node {
  const epc = (m: Record<string, string> | undefined) => (m?.[EPC_RESOURCE] !== undefined ? { [EPC_RESOURCE]: m[EPC_RESOURCE] } : undefined);
  return {
    apiVersion: n.apiVersion, kind: n.kind,
    metadata: { name: n.metadata?.name, resourceVersion: n.metadata?.resourceVersion },
    status: { capacity: epc(n.status?.capacity), allocatable: epc(n.status?.allocatable) },
  };
}

/**
 * The cluster as the webhook sees it, through @kubernetes/client-node: the largest node EPC from a shared
 * node informer (one list, then a watch), namespace annotations and ConfigMaps read on demand and cached with
 * a TTL. Only SGX pods ever cause a read.
 */
export class KubeCluster implements ClusterView {
  private readonly api: CoreV1Api;
  private readonly ttl: number;
  private readonly timeout: number;
  private readonly nodes: Informer<V1Node>;
  private starting: Promise<void> | null = null;
  /** The answer computed from the cache; undefined after any node event. */
  private largest: LargestEpc | null | undefined;
  private readonly namespaces: TtlCache<Record<string, string> | null>;
  private readonly configMaps: TtlCache<{ binaryData: Record<string, string>; data: Record<string, string> }>;

  constructor(kc: KubeConfig, options: KubeClusterOptions = {}) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.ttl = options.ttlMs ?? 30_000;
    this.timeout = options.callTimeoutMs ?? 3_000;
    this.nodes = new Informer<V1Node>({
      kubeConfig: kc, name: 'apiserver-node-watch', path: '/api/v1/nodes', labelSelector: options.nodeLabelSelector || undefined,
      list: (page) => this.api.listNode(page), transform: slimNode, backoff: options.backoff, logger: options.logger, watchTimeoutSeconds: options.watchTimeoutSeconds,
    });
    this.nodes.on('change', () => (this.largest = undefined));
    this.namespaces = new TtlCache(this.ttl, options.maxEntries ?? 1000);
    this.configMaps = new TtlCache(this.ttl, options.maxEntries ?? 1000);
  }

  /** Start the node informer (also started by the first review that needs it). */
  start(): Promise<void> {
    this.starting ??= this.nodes.start();
    return this.starting;
  }

  async stop(): Promise<void> {
    await this.nodes.stop();
  }

  health(): DependencyHealth {
    return this.nodes.health();
  }

  /** API calls made for nodes (each list page and each watch request). */
  get nodeCalls(): number {
    return this.nodes.lists + this.nodes.watches;
  }

  /**
   * From the informer's cache: an SGX pod never waits on the API server once the first list arrived. While a
   * watch is being re-established the last known capacity answers.
   */
  async largestEpc(): Promise<LargestEpc | null> {
    void this.start();
    await this.nodes.waitForSync(this.timeout);
    if (this.largest === undefined) {
      let best: LargestEpc | null = null;
      for (const n of this.nodes.list()) {
        // allocatable is what the scheduler can place; capacity when a node does not report it yet.
        const raw = n.status?.allocatable?.[EPC_RESOURCE] ?? n.status?.capacity?.[EPC_RESOURCE];
        if (raw === undefined) continue;
        let bytes: number;
        try {
          bytes = parseQuantity(raw);
        } catch {
          continue;
        }
        if (!best || bytes > best.bytes) best = { bytes, node: n.metadata?.name ?? '?' };
      }
      this.largest = best;
    }
    return this.largest;
  }

  async namespaceAnnotations(namespace: string): Promise<Record<string, string> | null> {
    return this.namespaces.get(namespace, async () => {
      try {
        const ns = await withTimeout(this.api.readNamespace({ name: namespace }), this.timeout, `read namespace ${namespace}`);
        return (ns.metadata?.annotations as Record<string, string> | undefined) ?? null;
      } catch (e) {
        throw new Error(describeKubeError(e));
      }
    });
  }

  async configMapBytes(namespace: string, name: string, key: string): Promise<ConfigMapEntry> {
    const cm = await this.configMaps.get(`${namespace}/${name}`, async () => {
      try {
        const c = await withTimeout(this.api.readNamespacedConfigMap({ name, namespace }), this.timeout, `read ConfigMap ${namespace}/${name}`);
        return { binaryData: c.binaryData ?? {}, data: c.data ?? {} };
      } catch (e) {
        throw new Error(describeKubeError(e));
      }
    });
    const bin = Object.hasOwn(cm.binaryData, key) ? cm.binaryData[key] : undefined;
    if (typeof bin === 'string') return new Uint8Array(Buffer.from(bin, 'base64'));
    if (Object.hasOwn(cm.data, key)) {
      // A SIGSTRUCT is binary; `kubectl create configmap --from-file` puts non-UTF-8 files in binaryData.
      throw new Error(`key "${key}" is in data (text), not binaryData: a SIGSTRUCT is binary (kubectl create configmap ${name} --from-file=${key}=<file> stores it in binaryData)`);
    }
    return null;
  }
}
