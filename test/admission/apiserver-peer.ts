// Test peer standing in for kube-apiserver (no Kubernetes control plane can run here): HTTPS with a
// self-signed certificate made at test time (openssl), bearer-token check, and the exact core/v1 JSON shapes
// of the three reads the webhook makes: GET /api/v1/nodes (NodeList), GET /api/v1/namespaces/{ns} (Namespace)
// and GET /api/v1/namespaces/{ns}/configmaps/{name} (ConfigMap, binaryData base64), with Status bodies for 404.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { makeNode } from '../node/apiserver-peer.js';

type Json = Record<string, unknown>;


export class AdmissionApiPeer {
  readonly token = 'd2ViaG9vay10b2tlbg';
  readonly dir = mkdtempSync(join(tmpdir(), 'ck-adm-api-'));
  readonly cert: string;
  readonly key: string;
  nodes: Json[] = [];
  namespaces = new Map<string, Json>();
  configMaps = new Map<string, Json>();
  calls: string[] = [];
  /** While set, every read answers 503 with a Status body, as an API server that lost etcd does. */
  failing = false;
  private server: Server | null = null;
  port = 0;

  constructor() {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(this.dir, 'key.pem'), '-out', join(this.dir, 'cert.pem')], { stdio: 'ignore' });
    this.cert = readFileSync(join(this.dir, 'cert.pem'), 'utf8');
    this.key = readFileSync(join(this.dir, 'key.pem'), 'utf8');
  }

  addSgxNode(name: string, epc: string): void {
    const n = makeNode(name) as { status: { capacity: Json; allocatable: Json } };
    n.status.capacity['sgx.intel.com/epc'] = epc;
    n.status.allocatable['sgx.intel.com/epc'] = epc;
    this.nodes.push(n as unknown as Json);
  }

  addNamespace(name: string, annotations: Record<string, string> = {}): void {
    this.namespaces.set(name, {
      kind: 'Namespace', apiVersion: 'v1',
      metadata: { name, uid: `ns-${name}`, resourceVersion: '10', creationTimestamp: '2026-11-28T09:00:00Z', labels: { 'kubernetes.io/metadata.name': name }, annotations },
      spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' },
    });
  }

  addConfigMap(namespace: string, name: string, binaryData: Record<string, Uint8Array>, data?: Record<string, string>): void {
    this.configMaps.set(`${namespace}/${name}`, {
      kind: 'ConfigMap', apiVersion: 'v1',
      metadata: { name, namespace, uid: `cm-${name}`, resourceVersion: '11', creationTimestamp: '2026-11-28T09:00:00Z' },
      ...(data ? { data } : {}),
      binaryData: Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
  }

  async start(): Promise<void> {
    this.server = createServer({ key: this.key, cert: this.cert }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      this.calls.push(`${req.method} ${url.pathname}`);
      const send = (code: number, body: Json) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const notFound = (what: string) => send(404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${what} not found`, reason: 'NotFound', code: 404 });
      if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      if (this.failing) return send(503, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'etcdserver: request timed out', reason: 'ServiceUnavailable', code: 503 });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && url.pathname === '/api/v1/nodes') {
        return send(200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '100' }, items: this.nodes });
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname))) {
        const ns = this.namespaces.get(m[1]);
        return ns ? send(200, ns) : notFound(`namespaces "${m[1]}"`);
      }
      if (req.method === 'GET' && (m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(url.pathname))) {
        const cm = this.configMaps.get(`${m[1]}/${m[2]}`);
        return cm ? send(200, cm) : notFound(`configmaps "${m[2]}"`);
      }
      return notFound(url.pathname);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'peer', server: `https://127.0.0.1:${this.port}`, caData: Buffer.from(this.cert).toString('base64') }],
      users: [{ name: 'webhook', token: this.token }],
      contexts: [{ name: 'peer', cluster: 'peer', user: 'webhook' }],
      currentContext: 'peer',
    });
    return kc;
  }

  writeKubeconfig(): string {
    const path = join(this.dir, 'kubeconfig');
    writeFileSync(path, this.kubeConfig().exportConfig());
    return path;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections?.();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
