// Test peer standing in for kube-apiserver, because no Kubernetes control plane can run in the test
// environment; the node agent's, the webhook's and the API-load benchmark's tests all talk to it. It serves
// HTTPS with a self-signed certificate made at test time (@peculiar/x509), checks the bearer token, keeps Nodes,
// Pods, Namespaces and ConfigMaps with the exact core/v1 JSON shapes, and answers as the API server does:
// - lists with resourceVersion, `limit` + `continue` pages, field selectors metadata.name / spec.nodeName and
//   equality label selectors;
// - watches (`?watch=true`, newline-delimited `{"type":…,"object":…}`) from a resourceVersion, ended after
//   `timeoutSeconds` with a BOOKMARK when asked for, and `410 Gone` (an ERROR event, then the end of the stream)
//   for a version older than the retained history — compact() forgets the history as etcd compaction does;
// - PATCH per content type (strategic-merge, merge, JSON patch) with the /status subresource kept apart;
// - Status bodies for 401, 404 and 503 (`failing`).
// kubeletReconcile() plays the kubelet zeroing extended resources on a re-created Node.
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KubeConfig } from '@kubernetes/client-node';

export type Json = Record<string, unknown>;
type Resource = 'nodes' | 'pods' | 'namespaces' | 'configmaps';
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface RequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
  /** list, watch, get, patch or other: what an API-server load figure counts. */
  verb: 'list' | 'watch' | 'get' | 'patch' | 'other';
  /** Bytes of the response body (a watch: bytes written until it ended or now). */
  bytes: number;
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

const meta = (o: Json): Json => o.metadata as Json;
const keyOf = (o: Json): string => `${(meta(o).namespace as string | undefined) ?? ''}/${meta(o).name as string}`;

/** Field selectors metadata.name=, metadata.namespace=, spec.nodeName= and equality label selectors, comma-joined. */
function matches(o: Json, fieldSelector: string | null, labelSelector: string | null): boolean {
  for (const term of (fieldSelector ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    const have = k === 'metadata.name' ? meta(o).name : k === 'metadata.namespace' ? meta(o).namespace : k === 'spec.nodeName' ? (o.spec as Json | undefined)?.nodeName : undefined;
    if (have !== v) return false;
  }
  const labels = (meta(o).labels as Record<string, string> | undefined) ?? {};
  for (const term of (labelSelector ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if (v === undefined ? !(k in labels) : labels[k] !== v) return false;
  }
  return true;
}

interface Watcher {
  res: ServerResponse;
  resource: Resource;
  fieldSelector: string | null;
  labelSelector: string | null;
  log: RequestLog;
}

export class ApiServerPeer {
  readonly token = 'c29tZS10b2tlbg';
  readonly dir: string;
  cert = '';
  private key = '';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  private rv = 1;
  private readonly store: Record<Resource, Map<string, Json>> = { nodes: new Map(), pods: new Map(), namespaces: new Map(), configmaps: new Map() };
  private history: { rv: number; resource: Resource; type: EventType; object: Json }[] = [];
  /** Events at or below this resourceVersion are compacted away: a watch from there gets 410 Gone. */
  private compactedAt = 0;
  private readonly watchers = new Set<Watcher>();
  readonly requests: RequestLog[] = [];
  /** While set, every request answers 503 with a Status body, as an API server that lost etcd does. */
  failing = false;

  /** `nodeName`: the Node a node agent under test owns (the one `node`, `touch()` and `recreateNode()` act on). */
  constructor(readonly nodeName = 'node-0', labels: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'ck-apiserver-'));
    this.put('nodes', makeNode(nodeName, labels));
  }

  private put(resource: Resource, o: Json): void {
    meta(o).resourceVersion = String(this.rv);
    this.store[resource].set(keyOf(o), o);
  }

  /** The agent's own Node (null after a deletion). */
  get node(): Json | null {
    return this.store.nodes.get(`/${this.nodeName}`) ?? null;
  }

  get nodes(): Json[] {
    return [...this.store.nodes.values()];
  }

  get pods(): Json[] {
    return [...this.store.pods.values()];
  }

  /** Replace every pod without events (set-up before clients start). */
  set pods(list: Json[]) {
    this.store.pods.clear();
    for (const p of list) this.put('pods', structuredClone(p));
  }

  /** `METHOD /path` of every request, in order. */
  get calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  /** Requests of one verb (list, watch, get, patch), optionally for paths starting with `prefix`. */
  count(verb: RequestLog['verb'], prefix = ''): number {
    return this.requests.filter((r) => r.verb === verb && r.path.startsWith(prefix)).length;
  }

  /** Create or replace an object, with the watch event a real API server would send. */
  apply(resource: Resource, object: Json): void {
    const o = structuredClone(object);
    const had = this.store[resource].has(keyOf(o));
    this.commit(resource, had ? 'MODIFIED' : 'ADDED', o);
  }

  delete(resource: Resource, name: string, namespace = ''): void {
    const o = this.store[resource].get(`${namespace}/${name}`);
    if (o) this.commit(resource, 'DELETED', structuredClone(o));
  }

  addNode(node: Json): void {
    this.apply('nodes', node);
  }

  addSgxNode(name: string, epc: string, labels: Record<string, string> = {}): void {
    const n = makeNode(name, labels) as { status: { capacity: Json; allocatable: Json } };
    n.status.capacity['sgx.intel.com/epc'] = epc;
    n.status.allocatable['sgx.intel.com/epc'] = epc;
    this.addNode(n as unknown as Json);
  }

  addNamespace(name: string, annotations: Record<string, string> = {}): void {
    this.apply('namespaces', {
      kind: 'Namespace', apiVersion: 'v1',
      metadata: { name, uid: `ns-${name}`, creationTimestamp: '2026-11-28T09:00:00Z', labels: { 'kubernetes.io/metadata.name': name }, annotations },
      spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' },
    });
  }

  addConfigMap(namespace: string, name: string, binaryData: Record<string, Uint8Array>, data?: Record<string, string>): void {
    this.apply('configmaps', {
      kind: 'ConfigMap', apiVersion: 'v1',
      metadata: { name, namespace, uid: `cm-${name}`, creationTimestamp: '2026-11-28T09:00:00Z' },
      ...(data ? { data } : {}),
      binaryData: Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
  }

  /** Forget the event history, as etcd compaction does: a watch from any older version gets 410 Gone. */
  compact(): void {
    this.compactedAt = this.rv;
    this.history = [];
  }

  /** End every open watch, as an API server restart or a load balancer does. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
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
    // Every TCP connection, also one still in its TLS handshake or not yet carrying a request, which
    // closeAllConnections does not see and close() would wait for (up to the 300 s request timeout).
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
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
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  async cleanup(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  kubeConfig(user = 'client'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'peer', server: `https://127.0.0.1:${this.port}`, caData: Buffer.from(this.cert).toString('base64') }],
      users: [{ name: user, token: this.token }],
      contexts: [{ name: 'peer', cluster: 'peer', user }],
      currentContext: 'peer',
    });
    return kc;
  }

  /** A kubeconfig file for this peer. */
  kubeconfig(): string {
    const p = join(this.dir, 'kubeconfig');
    writeFileSync(p, this.kubeConfig().exportConfig());
    return p;
  }

  private commit(resource: Resource, type: EventType, obj: Json): void {
    this.rv++;
    meta(obj).resourceVersion = String(this.rv);
    if (type === 'DELETED') this.store[resource].delete(keyOf(obj));
    else this.store[resource].set(keyOf(obj), obj);
    this.history.push({ rv: this.rv, resource, type, object: structuredClone(obj) });
    for (const w of this.watchers) if (w.resource === resource && matches(obj, w.fieldSelector, w.labelSelector)) this.write(w, { type, object: obj });
  }

  private write(w: Watcher, event: Json): void {
    if (w.res.writableEnded) return;
    const line = JSON.stringify(event) + '\n';
    w.log.bytes += Buffer.byteLength(line);
    w.res.write(line);
  }

  /** The kubelet after a Node re-creation: every extended resource in capacity/allocatable set to 0. */
  kubeletReconcile(): void {
    const n = structuredClone(this.node!);
    const st = n.status as { capacity: Json; allocatable: Json };
    for (const m of [st.capacity, st.allocatable]) for (const k of Object.keys(m)) if (k.includes('/') && !k.startsWith('kubernetes.io/')) m[k] = '0';
    this.commit('nodes', 'MODIFIED', n);
  }

  /** The Node deleted and registered again by the kubelet: default labels, no extended resources. */
  recreateNode(): void {
    this.commit('nodes', 'DELETED', structuredClone(this.node!));
    this.commit('nodes', 'ADDED', makeNode(this.nodeName));
  }

  /** Any other change to the Node (a heartbeat condition, another controller's label). */
  touch(label: string, value: string): void {
    const n = structuredClone(this.node!);
    (meta(n).labels as Json)[label] = value;
    this.commit('nodes', 'MODIFIED', n);
  }

  private send(res: ServerResponse, log: RequestLog | null, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    if (log) log.bytes = Buffer.byteLength(text);
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(text);
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
        return this.send(res, null, 400, status(400, 'BadRequest', 'body is not JSON'));
      }
      const method = req.method ?? '';
      const watch = url.searchParams.get('watch') === 'true';
      const collection = /^\/api\/v1\/(nodes|pods|namespaces\/[^/]+\/configmaps)$/.test(url.pathname);
      const verb = method === 'PATCH' ? 'patch' : method !== 'GET' ? 'other' : watch ? 'watch' : collection ? 'list' : 'get';
      const log: RequestLog = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'], body, verb, bytes: 0 };
      this.requests.push(log);
      if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, log, 401, status(401, 'Unauthorized', 'Unauthorized'));
      if (this.failing) return this.send(res, log, 503, status(503, 'ServiceUnavailable', 'etcdserver: request timed out'));
      try {
        this.route(method, url, req.headers['content-type'] ?? '', body, res, log);
      } catch (e) {
        this.send(res, log, 422, status(422, 'Invalid', (e as Error).message));
      }
    });
  }

  private route(method: string, url: URL, contentType: string, body: unknown, res: ServerResponse, log: RequestLog): void {
    const p = url.pathname;
    let m: RegExpExecArray | null;
    if (method === 'GET' && (p === '/api/v1/nodes' || p === '/api/v1/pods')) {
      const resource = p.slice(8) as Resource;
      return log.verb === 'watch' ? this.watch(resource, url, res, log) : this.list(resource, url, res, log);
    }
    if (method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(p))) {
      const ns = this.store.namespaces.get(`/${m[1]}`);
      return ns ? this.send(res, log, 200, ns) : this.send(res, log, 404, status(404, 'NotFound', `namespaces "${m[1]}" not found`));
    }
    if (method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(p))) {
      const cm = this.store.configmaps.get(`${m[1]}/${m[2]}`);
      return cm ? this.send(res, log, 200, cm) : this.send(res, log, 404, status(404, 'NotFound', `configmaps "${m[2]}" not found`));
    }
    if (!(m = /^\/api\/v1\/nodes\/([^/]+)(\/status)?$/.exec(p))) return this.send(res, log, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const node = this.store.nodes.get(`/${m[1]}`);
    if (!node) return this.send(res, log, 404, status(404, 'NotFound', `nodes "${m[1]}" not found`));
    if (method === 'GET') return this.send(res, log, 200, node);
    if (method !== 'PATCH') return this.send(res, log, 405, status(405, 'MethodNotAllowed', `${method} is not supported`));
    let patched: Json;
    const ct = contentType.split(';')[0].trim();
    if (ct === 'application/json-patch+json') {
      if (!Array.isArray(body)) return this.send(res, log, 400, status(400, 'BadRequest', 'json patch must be an array'));
      patched = applyJsonPatch(node, body as { op: string; path: string; value?: unknown }[]);
    } else if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json') {
      patched = applyMergePatch(node, body) as Json;
    } else {
      return this.send(res, log, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format: ${ct}`));
    }
    // The main resource ignores status; the status subresource ignores everything but status.
    const next = structuredClone(node);
    if (m[2]) next.status = patched.status;
    else {
      next.metadata = { ...(patched.metadata as Json), resourceVersion: meta(node).resourceVersion };
      next.spec = patched.spec;
    }
    if (JSON.stringify(next) !== JSON.stringify(node)) this.commit('nodes', 'MODIFIED', next);
    this.send(res, log, 200, this.store.nodes.get(`/${m[1]}`));
  }

  private list(resource: Resource, url: URL, res: ServerResponse, log: RequestLog): void {
    const all = [...this.store[resource].values()].filter((o) => matches(o, url.searchParams.get('fieldSelector'), url.searchParams.get('labelSelector')));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const from = Number(url.searchParams.get('continue') || '0');
    const items = limit > 0 ? all.slice(from, from + limit) : all;
    const next = limit > 0 && from + limit < all.length ? String(from + limit) : undefined;
    const kind = resource === 'nodes' ? 'NodeList' : 'PodList';
    this.send(res, log, 200, { kind, apiVersion: 'v1', metadata: { resourceVersion: String(this.rv), ...(next ? { continue: next } : {}) }, items });
  }

  private watch(resource: Resource, url: URL, res: ServerResponse, log: RequestLog): void {
    const w: Watcher = { res, resource, fieldSelector: url.searchParams.get('fieldSelector'), labelSelector: url.searchParams.get('labelSelector'), log };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // The API server answers a watch with its headers at once, before any event.
    res.flushHeaders();
    const from = Number(url.searchParams.get('resourceVersion') || '0');
    if (from > 0 && from < this.compactedAt) {
      this.write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedAt})`) });
      res.end();
      return;
    }
    for (const h of this.history) if (h.rv > from && h.resource === resource && matches(h.object, w.fieldSelector, w.labelSelector)) this.write(w, { type: h.type, object: h.object });
    this.watchers.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const t = timeout > 0 ? setTimeout(() => {
      if (url.searchParams.get('allowWatchBookmarks') === 'true') {
        this.write(w, { type: 'BOOKMARK', object: { kind: resource === 'nodes' ? 'Node' : 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
      }
      this.watchers.delete(w);
      res.end();
    }, timeout * 1000) : null;
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
