// Admission reviews/s and latency percentiles over HTTPS on loopback (the webhook in a child process): the
// maximum rate with autocannon; a fixed 1,000 reviews/s with autocannon (overallRate; 1 ms resolution) and with an
// open-loop generator over keep-alive connections that times each review from its send and from its scheduled
// time (µs resolution, coordinated omission visible); next to the anchor measured in the same run: the
// in-process review rate (reviewRequest, no HTTP).
// autocannon's rate limit sends each connection's quota for the second back to back and then waits
// (httpClient.js reqsMadeThisSecond), so its 1,000/s row is 1,000-review bursts: its p99 is queueing inside the
// burst. The open-loop rows spread the reviews evenly, as an API server does; they are the figure to compare.
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

async function load(port: number, ca: string, overallRate?: number) {
  return autocannon({
    ...(overallRate ? { overallRate } : {}),
    url: `https://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: bodies.map((body) => ({ method: 'POST' as const, path: '/mutate', headers: { 'content-type': 'application/json' }, body })),
    tlsOptions: { ca },
  } as autocannon.Options);
}

interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
function percentiles(xs: number[]): Percentiles {
  xs.sort((a, b) => a - b);
  const q = (p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: xs[xs.length - 1] };
}

/**
 * Open-loop load at `rate` reviews/s for SECONDS over keep-alive connections. A 1 ms timer sends every review
 * that is due (no busy loop: on a shared machine that would take the CPU the webhook needs). Each review is timed
 * from when it was sent and from when it was due; the second includes the generator's own timer slack and
 * shows any coordinated omission.
 */
async function fixedRate(port: number, ca: string, rate: number): Promise<{ sent: number; errors: number; fromSend: Percentiles; fromDue: Percentiles }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, ca });
  const fromSend: number[] = [];
  const fromDue: number[] = [];
  let errors = 0;
  const one = (body: string, due: bigint) =>
    new Promise<void>((resolve) => {
      const sentAt = process.hrtime.bigint();
      const req = request({ host: '127.0.0.1', port, path: '/mutate', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          const now = process.hrtime.bigint();
          if (res.statusCode !== 200) errors++;
          fromSend.push(Number(now - sentAt) / 1e6);
          fromDue.push(Number(now - due) / 1e6);
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
  fromSend.length = 0;
  fromDue.length = 0;
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
  return { sent, errors, fromSend: percentiles(fromSend), fromDue: percentiles(fromDue) };
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
  const capped = await load(port, ca, 1000);
  child.kill('SIGTERM');
  const line = (name: string, r: autocannon.Result) =>
    `${name.padEnd(34)} ${r.requests.average.toFixed(0).padStart(7)} reviews/s   p50 ${r.latency.p50} ms  p90 ${r.latency.p90} ms  p99 ${r.latency.p99} ms  errors ${r.errors + r.non2xx}`;
  console.log(`anchor: in-process reviewRequest   ${inproc.toFixed(0).padStart(7)} reviews/s`);
  console.log(line('HTTPS, maximum rate', max));
  const pct = (p: Percentiles) => `p50 ${p.p50.toFixed(2)} ms  p90 ${p.p90.toFixed(2)} ms  p99 ${p.p99.toFixed(2)} ms  max ${p.max.toFixed(1)} ms`;
  console.log(line('HTTPS, 1,000 reviews/s (autocannon)', capped));
  console.log(`${'HTTPS, 1,000 reviews/s, from send'.padEnd(34)} ${(fixed.sent / SECONDS).toFixed(0).padStart(7)} reviews/s   ${pct(fixed.fromSend)}  errors ${fixed.errors}`);
  console.log(`${'HTTPS, 1,000 reviews/s, from due'.padEnd(34)} ${''.padStart(7)}             ${pct(fixed.fromDue)}`);
  console.log('');
  console.log(`HTTPS max / in-process = ${(max.requests.average / inproc).toFixed(2)}`);
  console.log(`p99 at 1,000 reviews/s = ${fixed.fromSend.p99.toFixed(2)} ms from send, ${fixed.fromDue.p99.toFixed(2)} ms from due, ${capped.latency.p99} ms autocannon (target < 2 ms)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
