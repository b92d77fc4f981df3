// Admission reviews/s and latency percentiles over HTTPS on loopback (the webhook in a child process): the
// maximum rate with autocannon, and a fixed 1,000 reviews/s with an open-loop generator over keep-alive
// connections that times each review from its scheduled send time (no coordinated omission, µs resolution);
// next to the anchor measured in the same run: the in-process review rate (reviewRequest, no HTTP).
// Target (issue 8): p99 < 2 ms at 1,000 reviews/s.
// Usage: npm run bench:admission [-- --seconds 10 --connections 8]
import { spawn, execFileSync } from 'node:child_process';
import { Agent, request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { reviewRequest } from '../src/admission/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('seconds', 8);
const CONNECTIONS = arg('connections', 8);
const root = fileURLToPath(new URL('..', import.meta.url));

function review(object: Record<string, unknown>, i: number) {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `bench-${i}`, kind: { group: 'batch', version: 'v1', kind: String(object.kind) }, namespace: 'default', operation: 'CREATE', object } };
}
// The mix a cluster sends: mostly ordinary pods, some SGX workloads (the FAQ's Job shape).
const sgxJob = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'sgx-test' }, spec: { template: { spec: { containers: [{ name: 'sgxtest', image: 'oeciteam/sgx-test:1.0', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10' } } }], restartPolicy: 'Never' } } } };
const plainPod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx', annotations: null }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.25', resources: { requests: { cpu: '100m', memory: '64Mi' } }, ports: [{ containerPort: 80 }] }] } };
const bodies = [sgxJob, plainPod, plainPod, plainPod].map((o, i) => JSON.stringify(review(o, i)));

async function anchor(): Promise<number> {
  const parsed = bodies.map((b) => JSON.parse(b));
  for (let i = 0; i < 2000; i++) await reviewRequest(parsed[i % parsed.length], 'mutate');
  let n = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    for (let k = 0; k < 100; k++) await reviewRequest(JSON.parse(bodies[(n + k) % bodies.length]), 'mutate');
    n += 100;
  }
  return n / SECONDS;
}

async function load(port: number, ca: string) {
  return autocannon({
    url: `https://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: bodies.map((body) => ({ method: 'POST' as const, path: '/mutate', headers: { 'content-type': 'application/json' }, body })),
    tlsOptions: { ca },
  } as autocannon.Options);
}

/** Open-loop load at `rate` reviews/s for SECONDS: each review is timed from when it was due. */
async function fixedRate(port: number, ca: string, rate: number): Promise<{ sent: number; errors: number; p50: number; p90: number; p99: number; max: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca });
  const lat: number[] = [];
  let errors = 0;
  const one = (body: string, due: bigint) =>
    new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          lat.push(Number(process.hrtime.bigint() - due) / 1e6);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  // Warm the connections.
  await Promise.all(Array.from({ length: 16 }, (_, i) => one(bodies[i % bodies.length], process.hrtime.bigint())));
  lat.length = 0;
  const interval = BigInt(Math.round(1e9 / rate));
  const start = process.hrtime.bigint();
  const total = Math.round(rate * SECONDS);
  const pending: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      while (sent < total && start + BigInt(sent) * interval <= now) {
        pending.push(one(bodies[sent % bodies.length], start + BigInt(sent) * interval));
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { sent, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lat[lat.length - 1] };
}

const dir = mkdtempSync(join(tmpdir(), 'ck-bench-adm-'));
try {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
  const ca = (await import('node:fs')).readFileSync(join(dir, 'c'), 'utf8');
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'webhook', '--tls-cert', join(dir, 'c'), '--tls-key', join(dir, 'k'), '--port', String(port), '--address', '127.0.0.1', '--no-kube'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => String(d).includes('listening') && resolve());
    child.once('exit', (c) => reject(new Error(`webhook exited ${c}`)));
  });
  const inproc = await anchor();
  await load(port, ca); // warm-up
  const max = await load(port, ca);
  const fixed = await fixedRate(port, ca, 1000);
  child.kill('SIGTERM');
  const line = (name: string, r: autocannon.Result) =>
    `${name.padEnd(34)} ${r.requests.average.toFixed(0).padStart(7)} reviews/s   p50 ${r.latency.p50} ms  p90 ${r.latency.p90} ms  p99 ${r.latency.p99} ms  errors ${r.errors + r.non2xx}`;
  console.log(`anchor: in-process reviewRequest   ${inproc.toFixed(0).padStart(7)} reviews/s`);
  console.log(line('HTTPS, maximum rate', max));
  console.log(`${'HTTPS, fixed 1,000 reviews/s'.padEnd(34)} ${(fixed.sent / SECONDS).toFixed(0).padStart(7)} reviews/s   p50 ${fixed.p50.toFixed(2)} ms  p90 ${fixed.p90.toFixed(2)} ms  p99 ${fixed.p99.toFixed(2)} ms  max ${fixed.max.toFixed(1)} ms  errors ${fixed.errors}`);
  console.log('');
  console.log(`HTTPS max / in-process = ${(max.requests.average / inproc).toFixed(2)}`);
  console.log(`p99 at 1,000 reviews/s = ${fixed.p99.toFixed(2)} ms (target < 2 ms)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
