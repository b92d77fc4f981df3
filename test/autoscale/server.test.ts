// The adapter's HTTPS front as the aggregator meets it: only a client certificate from the requestheader CA with
// an allowed CN is believed, the proxied user is authorised per request, the agents are gathered over HTTP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'node:https';
import { createMetricsServer, type RemoteUser, type RequestAttributes } from '../../src/autoscale/server.js';
import { Gatherer } from '../../src/autoscale/gather.js';

const dir = mkdtempSync(join(tmpdir(), 'ck-autoscale-'));
const ossl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
function ca(name: string): void {
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`]);
}
function leaf(name: string, cn: string, signer: string): void {
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.crt`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-days', '1', '-out', `${name}.crt`]);
}
const pem = (f: string): string => readFileSync(join(dir, f), 'utf8');

let server: Server;
let agent: HttpServer;
let port = 0;
let usage = 8 * 1024 * 1024;
const seen: { user: RemoteUser; attrs: RequestAttributes }[] = [];
let gatherer: Gatherer;

function get(path: string, client?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: { code?: number; items?: { value: string }[]; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path, ca: pem('serving.crt'), servername: 'localhost', headers,
      ...(client ? { cert: pem(`${client}.crt`), key: pem(`${client}.key`) } : {}),
    }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => (b += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(b) as never }));
    });
    req.on('error', reject);
    req.end();
  });
}

const PATH = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_used_bytes?labelSelector=app%3Dweb';
const UID = 'bbbbbbbb-0000-4000-8000-000000000001';

describe('metrics adapter over HTTPS', () => {
  before(async () => {
    ca('front-proxy-ca');
    ca('other-ca');
    leaf('aggregator', 'front-proxy-client', 'front-proxy-ca');
    leaf('wrong-cn', 'someone-else', 'front-proxy-ca');
    leaf('foreign', 'front-proxy-client', 'other-ca');
    ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', 'serving.key', '-out', 'serving.crt']);
    // A node agent: its /metrics as the agent writes it (the usage changes between rounds).
    agent = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# HELP confkube_sgx_pod_epc_mapped_bytes x\n# TYPE confkube_sgx_pod_epc_mapped_bytes gauge\nconfkube_sgx_pod_epc_mapped_bytes{node="n1",namespace="shop",pod="web-1",pod_uid="${UID}",container="app"} ${usage}\n`);
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r));
    const agentUrl = `http://127.0.0.1:${(agent.address() as { port: number }).port}/metrics`;
    gatherer = new Gatherer({ targets: () => [{ name: 'n1', url: agentUrl }, { name: 'gone', url: 'http://127.0.0.1:1/metrics' }], intervalMs: 3_600_000 });
    await gatherer.gatherOnce();
    server = createMetricsServer({
      tls: { key: pem('serving.key'), cert: pem('serving.crt') }, clientCa: pem('front-proxy-ca.crt'), allowedNames: ['front-proxy-client'],
      cluster: {
        listPods: async () => [{ namespace: 'shop', name: 'web-1', uid: UID, requestBytes: 32 * 1024 * 1024 }],
        objectPods: async () => [],
      },
      samples: gatherer, windowSeconds: 15,
      authorize: async (user, attrs) => {
        seen.push({ user, attrs });
        return user.name !== 'mallory';
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => {
    server?.close();
    server?.closeAllConnections();
    agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the aggregator\'s certificate and headers: the value the agent reports, the user authorised for exactly this', async () => {
    const r = await get(PATH, 'aggregator', { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': 'system:serviceaccounts' });
    assert.equal(r.status, 200);
    assert.equal(r.body.items?.[0]?.value, String(8 * 1024 * 1024));
    const last = seen.at(-1)!;
    assert.deepEqual(last.user, { name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', groups: ['system:serviceaccounts'] });
    assert.deepEqual({ ...last.attrs, path: undefined }, { path: undefined, namespace: 'shop', resource: 'pods', name: '*', subresource: 'sgx_epc_used_bytes' });
  });

  it('a new gathering round changes the answer', async () => {
    usage = 24 * 1024 * 1024;
    await gatherer.gatherOnce();
    const r = await get(PATH, 'aggregator', { 'X-Remote-User': 'hpa' });
    assert.equal(r.body.items?.[0]?.value, String(24 * 1024 * 1024));
  });

  it('401 without a client certificate, with a foreign CA\'s, with a CN not allowed, or without a user', async () => {
    const h = { 'X-Remote-User': 'system:masters-wannabe' };
    for (const client of [undefined, 'foreign', 'wrong-cn']) {
      const r = await get(PATH, client, h);
      assert.equal(r.status, 401, String(client));
      assert.equal(r.body.code, 401);
    }
    assert.equal((await get(PATH, 'aggregator')).status, 401);
  });

  it('every X-Remote-Group line is a group of its own', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: PATH, ca: pem('serving.crt'), servername: 'localhost', cert: pem('aggregator.crt'), key: pem('aggregator.key') }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.setHeader('X-Remote-User', 'admin');
      req.setHeader('X-Remote-Group', ['system:masters', 'system:authenticated']);
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(seen.at(-1)!.user.groups, ['system:masters', 'system:authenticated']);
  });

  it('403 when the proxied user may not read custom metrics', async () => {
    const r = await get(PATH, 'aggregator', { 'X-Remote-User': 'mallory' });
    assert.equal(r.status, 403);
    assert.match(r.body.message ?? '', /mallory/);
  });

  it('discovery documents need no review (the aggregator reads them as a user without groups)', async () => {
    const before = seen.length;
    const r = await get('/apis/custom.metrics.k8s.io/v1beta2', 'aggregator', { 'X-Remote-User': 'system:kube-aggregator' });
    assert.equal(r.status, 200);
    assert.equal(seen.length, before);
  });

  it('400 for a broken selector, not a 500', async () => {
    const r = await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_used_bytes?labelSelector=a%20in%20(', 'aggregator', { 'X-Remote-User': 'hpa' });
    assert.equal(r.status, 400);
  });
});
