// Patched objects are walked by path in assertions; typing every shape would hide nothing.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, repoRoot } from '../helpers/cli.js';
import { asKind, reviewFor } from './helpers.js';
import { freePort } from '../../src/lib/net.js';

const dir = mkdtempSync(join(tmpdir(), 'ck-webhook-'));
let child: ChildProcess;
let port = 0;
let ca = '';

function post(path: string, body: string | Buffer, contentType = 'application/json'): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : null });
      });
    });
    // An over-long body is answered (413) and the connection closed before the upload ends: a write error
    // after the answer has arrived is expected, so only an error with no answer fails the call.
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', (e) => {
      if (!answered) setTimeout(() => (answered ? undefined : reject(e)), 200);
    });
    if (Buffer.byteLength(body) > 8 * 1024 * 1024) req.write(Buffer.from(body).subarray(0, 64 * 1024));
    else req.end(body);
  });
}

before(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=confkube-webhook.confkube.svc',
    '-addext', 'subjectAltName=DNS:localhost,DNS:confkube-webhook.confkube.svc,IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  ca = readFileSync(join(dir, 'tls.crt'), 'utf8');
  port = await freePort();
  child = spawn(process.execPath, [...CLI, 'webhook', '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--port', String(port), '--address', '127.0.0.1', '--no-kube'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`webhook exited ${code}: ${err}`)));
  });
});

after(() => {
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

test('the webhook process answers AdmissionReview v1 over HTTPS with a JSON patch', async () => {
  const job = asKind('Job', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '10' } } }], restartPolicy: 'Never' } });
  const review = reviewFor(job);
  const r = await post('/mutate', JSON.stringify(review));
  assert.equal(r.status, 200);
  assert.equal(r.json.kind, 'AdmissionReview');
  assert.equal(r.json.apiVersion, 'admission.k8s.io/v1');
  assert.equal(r.json.response.uid, (review.request as { uid: string }).uid);
  assert.equal(r.json.response.allowed, true);
  assert.equal(r.json.response.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(r.json.response.patch, 'base64').toString());
  assert.deepEqual(ops.map((o: { op: string; path: string }) => `${o.op} ${o.path}`), [
    'remove /spec/template/spec/containers/0/resources/limits/kubernetes.azure.com~1sgx_epc_mem_in_MiB',
    'add /spec/template/spec/containers/0/resources/limits/sgx.intel.com~1epc',
    'add /spec/template/spec/containers/0/resources/limits/sgx.intel.com~1enclave',
  ]);
  const v = await post('/validate', JSON.stringify(review));
  assert.equal(v.json.response.allowed, true);
  assert.equal(v.json.response.patch, undefined);
});

test('malformed reviews get an answer that says why, never a crash or a 500', async () => {
  const cases: [string, string | Buffer, string, number, RegExp][] = [
    ['bad JSON', '{"apiVersion":', 'application/json', 400, /JSON/i],
    ['not an object', '[1,2,3]', 'application/json', 400, /object/],
    ['wrong kind', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }), 'application/json', 400, /expected "AdmissionReview"/],
    ['v1beta1', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }), 'application/json', 400, /admission.k8s.io\/v1/],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), 'application/json', 400, /no "request"/],
    ['no uid', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: {} } }), 'application/json', 400, /uid/],
    ['huge body', Buffer.alloc(9 * 1024 * 1024, 0x20), 'application/json', 413, /larger than 8388608 bytes/],
    ['wrong content type', 'hello', 'text/plain', 415, /application\/json/],
  ];
  for (const [what, body, type, status, re] of cases) {
    const r = await post('/mutate', body, type);
    assert.equal(r.status, status, what);
    assert.equal(r.json.kind, 'Status', what);
    assert.match(r.json.message, re, what);
  }
  // A review with a uid but no object (e.g. DELETE) or a null object is allowed, untouched.
  for (const request of [{ uid: 'a', operation: 'DELETE', oldObject: {} }, { uid: 'b', operation: 'CREATE', object: null }, { uid: 'c', object: 'string' }]) {
    const r = await post('/mutate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.response, { uid: request.uid, allowed: true });
  }
  // Still alive and answering.
  const ok = await post('/validate', JSON.stringify(reviewFor(asKind('Pod', { spec: { containers: [] } }))));
  assert.equal(ok.json.response.allowed, true);
});

test('the largest review an API server sends (UPDATE of a 1.4 MiB workload, object and oldObject) is answered', async () => {
  const env = Array.from({ length: 14_000 }, (_, i) => ({ name: `VAR_${i}`, value: 'v'.repeat(80) }));
  const dep = asKind('Deployment', { spec: { containers: [{ name: 'big', image: 'x', env }] } });
  const size = JSON.stringify(dep).length;
  assert.ok(size > 1.3 * 2 ** 20 && size < 1.5 * 2 ** 20, String(size));
  const review = reviewFor(dep, { operation: 'UPDATE', oldObject: dep });
  const r = await post('/mutate', JSON.stringify(review));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.response, { uid: (review.request as { uid: string }).uid, allowed: true });
});
