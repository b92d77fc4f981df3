// Test peer standing in for kube-apiserver, because no Kubernetes control plane can run in the
// test environment. It serves HTTPS with a self-signed certificate made at test time (@peculiar/x509),
// checks the bearer token, keeps one Node with the exact core/v1 JSON shape, applies PATCH as
// the API server does for the content type the client sends (strategic-merge, merge, JSON patch),
// separates the main resource from the /status subresource, streams watch events
// (`?watch=true`, newline-delimited `{"type":…,"object":…}`), and lists pods by spec.nodeName.
// kubeletReconcile() plays the kubelet zeroing extended resources on a re-created Node (docs/node.md §Re-asserting capacity).
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type Json = Record<string, unknown>;

export interface RequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

export function makeNode(name: string, labels: Record<string, string> = {}): Json {
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: '8d6f0b1e-3c2a-4e5f-9a7b-1c2d3e4f5a6b',
      resourceVersion: '1',
      creationTimestamp: '2026-11-28T09:00:00Z',
      labels: {
        'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'node.kubernetes.io/instance-type': 'Standard_DC8_v2',
        'kubernetes.azure.com/agentpool': 'acc', ...labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: `azure:///subscriptions/0/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/aks-acc/virtualMachines/0` },
    status: {
      capacity: { cpu: '8', 'ephemeral-storage': '129886128Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '32863880Ki', pods: '110' },
      allocatable: { cpu: '7820m', 'ephemeral-storage': '119703055367', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '28215432Ki', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-28T09:00:00Z', lastTransitionTime: '2026-11-28T09:00:00Z', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [{ type: 'InternalIP', address: '10.224.0.4' }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: '0', systemUUID: '0', bootID: '0', kernelVersion: '5.15.0-1057-azure', osImage: 'Ubuntu 22.04.4 LTS', containerRuntimeVersion: 'containerd://1.7.15-1',
        kubeletVersion: 'v1.30.4', kubeProxyVersion: 'v1.30.4', operatingSystem: 'linux', architecture: 'amd64',
      },
    },
  };
}

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** RFC 6902 (add/replace/remove/test), enough for node patches. */
export function applyJsonPatch(doc: Json, ops: { op: string; path: string; value?: unknown }[]): Json {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map(unescapePointer);
    const last = parts.pop()!;
    let cur: Record<string, unknown> = out;
    for (const p of parts) {
      const next = cur[p];
      if (next === undefined || next === null || typeof next !== 'object') throw new Error(`path ${op.path}: parent ${p} does not exist`);
      cur = next as Record<string, unknown>;
    }
    if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in cur)) throw new Error(`replace ${op.path}: no such member`);
      cur[last] = op.value;
    } else if (op.op === 'remove') {
      if (!(last in cur)) throw new Error(`remove ${op.path}: no such member`);
      delete cur[last];
    } else if (op.op === 'test') {
      if (JSON.stringify(cur[last]) !== JSON.stringify(op.value)) throw new Error(`test ${op.path} failed`);
    } else throw new Error(`unsupported op ${op.op}`);
  }
  return out;
}

/** RFC 7386; for the maps in a Node (labels, capacity) strategic merge behaves the same way. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export class ApiServerPeer {
  readonly token = 'c29tZS10b2tlbg';
  readonly dir: string;
  cert = '';
  private key = '';
  private server: Server | null = null;
  port = 0;
  node: Json | null;
  pods: Json[] = [];
  private rv = 1;
  private readonly history: { rv: number; type: string; object: Json }[] = [];
  private readonly watchers = new Set<{ res: ServerResponse; name: string | null }>();
  readonly requests: RequestLog[] = [];

  constructor(readonly nodeName: string, labels: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'ck-apiserver-'));
    this.node = makeNode(nodeName, labels);
  }

  /** A self-signed serving certificate for 127.0.0.1 (ECDSA P-256), used as the kubeconfig's CA. */
  private async makeCertificate(): Promise<void> {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = (await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01', name: 'CN=127.0.0.1', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86400_000),
      signingAlgorithm: alg, keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
      ],
    });
    const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
    this.key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }) as string;
    this.cert = cert.toString('pem');
  }

  /** Listen (again) — on the same port after a stop, so clients see an API server coming back. */
  async start(port = this.port): Promise<void> {
    if (!this.cert) await this.makeCertificate();
    const server = createServer({ key: this.key, cert: this.cert }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Reserve a port without serving (the API server is "down"). */
  async reservePort(): Promise<void> {
    await this.start(0);
    await this.stop();
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  kubeconfig(): string {
    const cfg = {
      apiVersion: 'v1', kind: 'Config', 'current-context': 'peer',
      clusters: [{ name: 'peer', cluster: { server: `https://127.0.0.1:${this.port}`, 'certificate-authority-data': Buffer.from(this.cert).toString('base64') } }],
      users: [{ name: 'agent', user: { token: this.token } }],
      contexts: [{ name: 'peer', context: { cluster: 'peer', user: 'agent' } }],
    };
    const p = join(this.dir, 'kubeconfig');
    writeFileSync(p, JSON.stringify(cfg));
    return p;
  }

  private commit(type: 'ADDED' | 'MODIFIED' | 'DELETED', node: Json | null, deleted?: Json): void {
    this.rv++;
    const obj = node ?? deleted!;
    (obj.metadata as Json).resourceVersion = String(this.rv);
    this.node = node;
    this.history.push({ rv: this.rv, type, object: structuredClone(obj) });
    for (const w of this.watchers) w.res.write(JSON.stringify({ type, object: obj }) + '\n');
  }

  /** The kubelet after a Node re-creation: every extended resource in capacity/allocatable set to 0. */
  kubeletReconcile(): void {
    const n = structuredClone(this.node!);
    const st = n.status as { capacity: Json; allocatable: Json };
    for (const m of [st.capacity, st.allocatable]) for (const k of Object.keys(m)) if (k.includes('/') && !k.startsWith('kubernetes.io/')) m[k] = '0';
    this.commit('MODIFIED', n);
  }

  /** The Node deleted and registered again by the kubelet: default labels, no extended resources. */
  recreateNode(): void {
    const old = this.node!;
    this.commit('DELETED', null, structuredClone(old));
    this.commit('ADDED', makeNode(this.nodeName));
  }

  /** Any other change to the Node (a heartbeat condition, another controller's label). */
  touch(label: string, value: string): void {
    const n = structuredClone(this.node!);
    (n.metadata as { labels: Json }).labels[label] = value;
    this.commit('MODIFIED', n);
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = undefined;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return this.send(res, 400, status(400, 'BadRequest', 'body is not JSON'));
      }
      this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'], body });
      if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      try {
        this.route(req.method ?? '', url, req.headers['content-type'] ?? '', body, res);
      } catch (e) {
        this.send(res, 422, status(422, 'Invalid', (e as Error).message));
      }
    });
  }

  private route(method: string, url: URL, contentType: string, body: unknown, res: ServerResponse): void {
    const p = url.pathname;
    const nodePath = `/api/v1/nodes/${this.nodeName}`;
    if (method === 'GET' && p === '/api/v1/nodes' && url.searchParams.get('watch') === 'true') return this.watch(url, res);
    if (method === 'GET' && p === '/api/v1/pods') {
      const sel = url.searchParams.get('fieldSelector') ?? '';
      const want = /^spec\.nodeName=(.+)$/.exec(sel)?.[1];
      const items = this.pods.filter((x) => want === undefined || (x.spec as Json | undefined)?.nodeName === want);
      return this.send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (p !== nodePath && p !== `${nodePath}/status`) return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource`));
    if (!this.node) return this.send(res, 404, status(404, 'NotFound', `nodes "${this.nodeName}" not found`));
    if (method === 'GET') return this.send(res, 200, this.node);
    if (method !== 'PATCH') return this.send(res, 405, status(405, 'MethodNotAllowed', `${method} is not supported`));
    let patched: Json;
    const ct = contentType.split(';')[0].trim();
    if (ct === 'application/json-patch+json') {
      if (!Array.isArray(body)) return this.send(res, 400, status(400, 'BadRequest', 'json patch must be an array'));
      patched = applyJsonPatch(this.node, body as { op: string; path: string; value?: unknown }[]);
    } else if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json') {
      patched = applyMergePatch(this.node, body) as Json;
    } else {
      return this.send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${ct}`));
    }
    // The main resource ignores status; the status subresource ignores everything but status.
    const next = structuredClone(this.node);
    if (p.endsWith('/status')) next.status = patched.status;
    else {
      next.metadata = { ...(patched.metadata as Json), resourceVersion: (this.node.metadata as Json).resourceVersion };
      next.spec = patched.spec;
    }
    if (JSON.stringify(next) !== JSON.stringify(this.node)) this.commit('MODIFIED', next);
    this.send(res, 200, this.node);
  }

  private watch(url: URL, res: ServerResponse): void {
    const sel = url.searchParams.get('fieldSelector') ?? '';
    const name = /^metadata\.name=(.+)$/.exec(sel)?.[1] ?? null;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The API server answers a watch with its headers at once, before any event.
    res.flushHeaders();
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    for (const h of this.history) if (h.rv > from) res.write(JSON.stringify({ type: h.type, object: h.object }) + '\n');
    const w = { res, name };
    this.watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const t = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : null;
    res.on('close', () => {
      if (t) clearTimeout(t);
      this.watchers.delete(w);
    });
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  /** Resolves when `pred` holds (checked every 20 ms); rejects after `ms` so a broken client cannot hang the suite. */
  waitFor(what: string, pred: () => boolean, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const start = Date.now();
      const i = setInterval(() => {
        if (pred()) {
          clearInterval(i);
          resolve();
        } else if (Date.now() - start > ms) {
          clearInterval(i);
          reject(new Error(`timed out waiting for: ${what}`));
        }
      }, 20);
    });
  }
}
