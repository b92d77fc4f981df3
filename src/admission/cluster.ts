import { KubeApiError } from './errors.js';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../node/kube.js';
import { parseQuantity } from '../node/quantity.js';
import { EPC_RESOURCE } from './names.js';
import type { ClusterView } from './review.js';

export interface KubeClusterOptions {
  /** How long node capacity, namespace annotations and ConfigMaps are reused before a refresh (ms). */
  ttlMs?: number;
  /**
   * How long an expired node capacity is still answered while a refresh runs in the background, so an SGX
   * pod never waits on the node list (ms; default 10 × ttl). Past it, the review waits for the refresh.
   */
  staleMs?: number;
  /** Per-call timeout: the API server waits for the webhook at most `timeoutSeconds`. */
  callTimeoutMs?: number;
  /** Entries kept per cache (namespaces, ConfigMaps). */
  maxEntries?: number;
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
      timer = setTimeout(() => reject(new KubeApiError(`${what}: no answer from the API server within ${ms} ms`, 'ERR_KUBE_API_TIMEOUT')), ms);
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

/**
 * The cluster as the webhook sees it, through @kubernetes/client-node: the largest node EPC, namespace
 * annotations and ConfigMaps, each cached with a TTL. Only SGX pods ever cause a call; node capacity is
 * refreshed in the background while the last answer is still recent enough.
 */
export class KubeCluster implements ClusterView {
  private readonly api: CoreV1Api;
  private readonly ttl: number;
  private readonly stale: number;
  private readonly timeout: number;
  private nodes: Cached<LargestEpc | null> | null = null;
  private nodesInFlight: Promise<LargestEpc | null> | null = null;
  private readonly namespaces: TtlCache<Record<string, string> | null>;
  private readonly configMaps: TtlCache<{ binaryData: Record<string, string>; data: Record<string, string> }>;

  constructor(kc: KubeConfig, options: KubeClusterOptions = {}) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.ttl = options.ttlMs ?? 30_000;
    this.stale = options.staleMs ?? this.ttl * 10;
    this.timeout = options.callTimeoutMs ?? 3_000;
    this.namespaces = new TtlCache(this.ttl, options.maxEntries ?? 1000);
    this.configMaps = new TtlCache(this.ttl, options.maxEntries ?? 1000);
  }

  private refreshNodes(): Promise<LargestEpc | null> {
    if (!this.nodesInFlight) {
      this.nodesInFlight = (async () => {
        try {
          const list = await withTimeout(this.api.listNode(), this.timeout, 'list nodes');
          let best: LargestEpc | null = null;
          for (const n of list.items ?? []) {
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
          this.nodes = { at: Date.now(), value: best };
          return best;
        } catch (e) {
          throw new KubeApiError(describeKubeError(e));
        } finally {
          this.nodesInFlight = null;
        }
      })();
    }
    return this.nodesInFlight;
  }

  async largestEpc(): Promise<LargestEpc | null> {
    const age = this.nodes ? Date.now() - this.nodes.at : Infinity;
    if (this.nodes && age < this.ttl) return this.nodes.value;
    if (this.nodes && age < this.stale) {
      this.refreshNodes().catch(() => undefined); // the next review retries; this one uses the recent answer
      return this.nodes.value;
    }
    return this.refreshNodes();
  }

  async namespaceAnnotations(namespace: string): Promise<Record<string, string> | null> {
    return this.namespaces.get(namespace, async () => {
      try {
        const ns = await withTimeout(this.api.readNamespace({ name: namespace }), this.timeout, `read namespace ${namespace}`);
        return (ns.metadata?.annotations as Record<string, string> | undefined) ?? null;
      } catch (e) {
        throw new KubeApiError(describeKubeError(e));
      }
    });
  }

  async configMapBytes(namespace: string, name: string, key: string): Promise<ConfigMapEntry> {
    const cm = await this.configMaps.get(`${namespace}/${name}`, async () => {
      try {
        const c = await withTimeout(this.api.readNamespacedConfigMap({ name, namespace }), this.timeout, `read ConfigMap ${namespace}/${name}`);
        return { binaryData: c.binaryData ?? {}, data: c.data ?? {} };
      } catch (e) {
        throw new KubeApiError(describeKubeError(e));
      }
    });
    const bin = Object.hasOwn(cm.binaryData, key) ? cm.binaryData[key] : undefined;
    if (typeof bin === 'string') return new Uint8Array(Buffer.from(bin, 'base64'));
    if (Object.hasOwn(cm.data, key)) {
      // A SIGSTRUCT is binary; `kubectl create configmap --from-file` puts non-UTF-8 files in binaryData.
      throw new KubeApiError(`key "${key}" is in data (text), not binaryData: a SIGSTRUCT is binary (kubectl create configmap ${name} --from-file=${key}=<file> stores it in binaryData)`, 'ERR_SIGSTRUCT_NOT_BINARY');
    }
    return null;
  }
}
