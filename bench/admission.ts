// Admission reviews/s and latency percentiles over HTTPS on loopback (autocannon, the webhook in a child
// process), at a fixed 1,000 reviews/s and at the maximum rate, next to the anchor measured in the same run:
// the in-process review rate (reviewRequest on the parsed body, no HTTP).
// Target (issue 8): p99 < 2 ms at 1,000 reviews/s.
// Usage: npm run bench:admission [-- --seconds 10 --connections 8]
import { spawn, execFileSync } from 'node:child_process';
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

async function load(port: number, ca: string, rate: number | undefined) {
  return autocannon({
    url: `https://127.0.0.1:${port}`,
    connections: rate ? Math.min(CONNECTIONS, 4) : CONNECTIONS,
    duration: SECONDS,
    ...(rate ? { overallRate: rate } : {}),
    requests: bodies.map((body) => ({ method: 'POST' as const, path: '/mutate', headers: { 'content-type': 'application/json' }, body })),
    tlsOptions: { ca },
  } as autocannon.Options);
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
  await load(port, ca, undefined); // warm-up
  const max = await load(port, ca, undefined);
  const fixed = await load(port, ca, 1000);
  child.kill('SIGTERM');
  const line = (name: string, r: autocannon.Result) =>
    `${name.padEnd(34)} ${r.requests.average.toFixed(0).padStart(7)} reviews/s   p50 ${r.latency.p50} ms  p90 ${r.latency.p90} ms  p99 ${r.latency.p99} ms  errors ${r.errors + r.non2xx}`;
  console.log(`anchor: in-process reviewRequest   ${inproc.toFixed(0).padStart(7)} reviews/s`);
  console.log(line('HTTPS, maximum rate', max));
  console.log(line('HTTPS, fixed 1,000 reviews/s', fixed));
  console.log('');
  console.log(`HTTPS max / in-process = ${(max.requests.average / inproc).toFixed(2)}`);
  console.log(`p99 at 1,000 reviews/s = ${fixed.latency.p99} ms (target < 2 ms)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
