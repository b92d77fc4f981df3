import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../node/kube.js';
import { parseQuantity } from '../node/quantity.js';
import { EPC_RESOURCE } from './names.js';
import type { ClusterView } from './review.js';

export interface KubeClusterOptions {
  /** How long node capacity and namespace annotations are reused (ms). */
  ttlMs?: number;
  /** Per-call timeout: the API server waits for the webhook at most `timeoutSeconds` (default 10 s). */
  callTimeoutMs?: number;
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

/**
 * The cluster as the webhook sees it, through @kubernetes/client-node: the largest node EPC (cached), namespace
 * annotations (cached) and ConfigMaps. Only SGX pods ever cause a call.
 */
export class KubeCluster implements ClusterView {
  private readonly api: CoreV1Api;
  private readonly ttl: number;
  private readonly timeout: number;
  private nodes: Cached<{ bytes: number; node: string } | null> | null = null;
  private nodesInFlight: Promise<{ bytes: number; node: string } | null> | null = null;
  private readonly namespaces = new Map<string, Cached<Record<string, string> | null>>();

  constructor(kc: KubeConfig, options: KubeClusterOptions = {}) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.ttl = options.ttlMs ?? 30_000;
    this.timeout = options.callTimeoutMs ?? 3_000;
  }

  async largestEpc(): Promise<{ bytes: number; node: string } | null> {
    if (this.nodes && Date.now() - this.nodes.at < this.ttl) return this.nodes.value;
    if (!this.nodesInFlight) {
      this.nodesInFlight = (async () => {
        try {
          const list = await withTimeout(this.api.listNode(), this.timeout, 'list nodes');
          let best: { bytes: number; node: string } | null = null;
          for (const n of list.items ?? []) {
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
          throw new Error(describeKubeError(e));
        } finally {
          this.nodesInFlight = null;
        }
      })();
    }
    return this.nodesInFlight;
  }

  async namespaceAnnotations(namespace: string): Promise<Record<string, string> | null> {
    const hit = this.namespaces.get(namespace);
    if (hit && Date.now() - hit.at < this.ttl) return hit.value;
    try {
      const ns = await withTimeout(this.api.readNamespace({ name: namespace }), this.timeout, `read namespace ${namespace}`);
      const value = (ns.metadata?.annotations as Record<string, string> | undefined) ?? null;
      if (this.namespaces.size > 1000) this.namespaces.clear();
      this.namespaces.set(namespace, { at: Date.now(), value });
      return value;
    } catch (e) {
      throw new Error(describeKubeError(e));
    }
  }

  async configMapBytes(namespace: string, name: string, key: string): Promise<Uint8Array | null> {
    let cm;
    try {
      cm = await withTimeout(this.api.readNamespacedConfigMap({ name, namespace }), this.timeout, `read ConfigMap ${namespace}/${name}`);
    } catch (e) {
      throw new Error(describeKubeError(e));
    }
    const bin = cm.binaryData?.[key];
    if (typeof bin === 'string') return new Uint8Array(Buffer.from(bin, 'base64'));
    const text = cm.data?.[key];
    if (typeof text === 'string') return new Uint8Array(Buffer.from(text, 'latin1'));
    return null;
  }
}
