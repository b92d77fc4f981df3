// Certificate renewal under a running webhook: the TLS files are swapped the way the kubelet updates a Secret
// volume (a new timestamped directory, then an atomic rename of the `..data` symlink), and new connections must
// get the new certificate without a restart. No timed assertion: each step waits for what it checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createWebhookServer, WebhookMetrics } from '../../src/admission/index.js';
import { CertWatcher } from '../../src/kube/index.js';
import { CLI, repoRoot } from '../helpers/cli.js';
import { asKind, reviewFor } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ck-tls-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Pair { cert: string; key: string; fingerprint: string }

function makePair(name: string): Pair {
  const d = join(dir, 'made', name);
  mkdirSync(d, { recursive: true });
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(d, 'tls.key'), '-out', join(d, 'tls.crt')], { stdio: 'ignore' });
  const cert = readFileSync(join(d, 'tls.crt'), 'utf8');
  return { cert, key: readFileSync(join(d, 'tls.key'), 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
}

let generation = 0;
/** A Secret volume as the kubelet writes it: `tls.crt -> ..data/tls.crt`, `..data -> ..<generation>`. */
function writeSecretVolume(vol: string, files: { 'tls.crt': string; 'tls.key': string }): void {
  const gen = `..2026_11_30_${++generation}`;
  mkdirSync(join(vol, gen), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(vol, gen, f), text);
  symlinkSync(gen, join(vol, '..data_tmp'));
  renameSync(join(vol, '..data_tmp'), join(vol, '..data'));
  for (const f of Object.keys(files)) {
    try {
      symlinkSync(join('..data', f), join(vol, f));
    } catch {
      // the link exists since the first generation
    }
  }
}

/** SHA-256 fingerprint of the certificate a new TLS connection is served. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

async function waitForServed(port: number, fingerprint: string): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if ((await servedFingerprint(port)) === fingerprint) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`certificate ${fingerprint} never served`);
}

function postReview(port: number, ca: string): Promise<{ status: number; allowed: boolean }> {
  const body = JSON.stringify(reviewFor(asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x' }] } })));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allowed: (JSON.parse(text) as { response: { allowed: boolean } }).response.allowed }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the webhook process serves a renewed certificate without a restart (Secret volume symlink swap)', async () => {
  const a = makePair('webhook-a');
  const b = makePair('webhook-b');
  const vol = join(dir, 'volume-cli');
  mkdirSync(vol);
  writeSecretVolume(vol, { 'tls.crt': a.cert, 'tls.key': a.key });
  let port = 0;
  const child: ChildProcess = spawn(process.execPath, [...CLI, 'webhook', '--tls-cert', join(vol, 'tls.crt'), '--tls-key', join(vol, 'tls.key'),
    '--port', '0', '--address', '127.0.0.1', '--no-kube', '--metrics-address', 'off', '--tls-poll', '0'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        const m = /"msg":"confkube webhook listening"[^\n]*"port":(\d+)/.exec(stderr);
        if (m) {
          port = Number(m[1]);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`webhook exited ${code}: ${stderr}`)));
    });
    assert.equal(await servedFingerprint(port), a.fingerprint);
    assert.deepEqual(await postReview(port, a.cert), { status: 200, allowed: true });
    writeSecretVolume(vol, { 'tls.crt': b.cert, 'tls.key': b.key });
    await waitForServed(port, b.fingerprint);
    assert.deepEqual(await postReview(port, b.cert), { status: 200, allowed: true }, 'clients trusting only the new certificate are answered');
    assert.equal(child.exitCode, null, 'same process');
    const reload = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'TLS certificate reloaded');
    assert.equal(reload?.to, new X509Certificate(b.cert).fingerprint256.replace(/:/g, '').toLowerCase());
  } finally {
    child.kill('SIGTERM');
  }
});

test('a half-written or mismatched pair is not served; polling alone picks up a renewal where directory events do not arrive', async () => {
  const a = makePair('inproc-a');
  const b = makePair('inproc-b');
  const vol = join(dir, 'volume-inproc');
  mkdirSync(vol);
  writeSecretVolume(vol, { 'tls.crt': a.cert, 'tls.key': a.key });
  const certWatcher = new CertWatcher({ certFile: join(vol, 'tls.crt'), keyFile: join(vol, 'tls.key'), watchFiles: false, pollMs: 20 });
  const metrics = new WebhookMetrics();
  const app = createWebhookServer({ certWatcher, metrics });
  await app.listen({ port: 0, host: '127.0.0.1' });
  certWatcher.start();
  const port = (app.server.address() as { port: number }).port;
  try {
    assert.equal(await servedFingerprint(port), a.fingerprint);
    // The new certificate with the old key: refused, the old pair stays in service.
    writeSecretVolume(vol, { 'tls.crt': b.cert, 'tls.key': a.key });
    for (let i = 0; i < 750 && certWatcher.failures === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(certWatcher.failures, 1);
    assert.equal(await servedFingerprint(port), a.fingerprint);
    assert.match(await metrics.registry.metrics(), /confkube_webhook_certificate_reloads_total\{result="error"\} 1/);
    writeSecretVolume(vol, { 'tls.crt': b.cert, 'tls.key': b.key });
    await waitForServed(port, b.fingerprint);
    const text = await metrics.registry.metrics();
    assert.match(text, /confkube_webhook_certificate_reloads_total\{result="success"\} 1/);
    assert.match(text, new RegExp(`confkube_webhook_certificate_not_after_timestamp_seconds ${new Date(new X509Certificate(b.cert).validTo).getTime() / 1000}`));
  } finally {
    certWatcher.stop();
    await app.close();
  }
});
