// Attestation throughput and latency over HTTPS on loopback (autocannon), next to the anchor measured in the same
// run: the in-process rate of verify + policy + sign (Attester.attest, no HTTP, no audit).
// Targets (issue 6): service >= 50% of the in-process rate; p99 < 10 ms at half the maximum rate.
// Usage: npm run bench:attest [-- --seconds 10 --connections 16 --store sqlite|memory|postgres://…]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { createAttestationService, createTlsCertificate, type AttestationStore, type PolicyEngine } from '../src/attestation/index.js';
import { policyEngine, openServiceStore } from '../src/cli/service-runtime.js';
import { MemoryStore } from '../support/memory-store.js';
import { AesGcmKeyProtector } from '../src/store/index.js';
import { randomBytes } from 'node:crypto';

const keyProtector = new AesGcmKeyProtector(randomBytes(32));

const FIX = fileURLToPath(new URL('../test/fixtures/attestation/', import.meta.url));
const QUOTE = readFileSync(join(FIX, 'quotes/automata_v3.bin'));
const COLLATERAL = join(FIX, 'collateral/automata_2025-08');
const VERIFY_AT = 1755236700_000;
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

async function parts(dir: string): Promise<{ store: AttestationStore; engine: PolicyEngine; storeName: string; engineName: string }> {
  // --store memory isolates the service's own cost from the store's durable audit append (fsync per record).
  const kind = process.env.CONFKUBE_BENCH_STORE ?? 'sqlite';
  let store: AttestationStore;
  let storeName = kind;
  if (kind === 'memory') store = new MemoryStore();
  else if (kind === 'sqlite') store = await openServiceStore(`sqlite:${join(dir, 'bench.db')}`);
  else {
    store = await openServiceStore(kind);
    storeName = 'postgres';
  }
  const engine: PolicyEngine = policyEngine;
  const engineName = 'src/policy';
  return { store, engine, storeName, engineName };
}

async function server(port: number, dir: string): Promise<void> {
  const tls = await createTlsCertificate(['127.0.0.1']);
  const { store, engine, storeName, engineName } = await parts(dir);
  const svc = await createAttestationService({ baseUrl: `https://127.0.0.1:${port}`, store, engine, keyProtector, tls, collateral: { directory: COLLATERAL }, verifyAt: () => VERIFY_AT, policyPollMs: 250, warn: () => undefined });
  await svc.app.listen({ host: '127.0.0.1', port });
  process.stdout.write(JSON.stringify({ ready: true, storeName, engineName }) + '\n');
}

async function inProcess(seconds: number, dir: string): Promise<number> {
  mkdirSync(join(dir, 'anchor'), { recursive: true });
  const { store, engine } = await parts(join(dir, 'anchor'));
  const svc = await createAttestationService({ baseUrl: 'https://127.0.0.1:1', store, engine, keyProtector, collateral: { directory: COLLATERAL }, verifyAt: () => VERIFY_AT, policyPollMs: 0, warn: () => undefined });
  const req = { type: 'SgxEnclave' as const, evidence: new Uint8Array(QUOTE) };
  for (let i = 0; i < 200; i++) await svc.ctx.attester.attest(req);
  let n = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const r = await svc.ctx.attester.attest(req);
    if (!r.ok) throw new Error(r.error.message);
    n++;
  }
  await svc.close();
  await store.close();
  return n / seconds;
}

function cannon(url: string, seconds: number, connections: number, overallRate?: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `${url}/attest/SgxEnclave?api-version=2020-10-01`, method: 'POST', duration: seconds, connections,
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quote: QUOTE.toString('base64url') }),
      ...(overallRate ? { overallRate } : {}),
    }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function main(): Promise<void> {
  const si = process.argv.indexOf('--store');
  if (si > 0) process.env.CONFKUBE_BENCH_STORE = process.argv[si + 1];
  if (process.argv[2] === '--server') return server(Number(process.argv[3]), process.argv[4]);
  const seconds = arg('seconds', 8);
  const connections = arg('connections', 16);
  // The paced run keeps few connections open: at half the maximum rate a client does not need 16 in flight.
  const pacedConnections = arg('paced-connections', 4);
  const dir = mkdtempSync(join(tmpdir(), 'confkube-bench-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--server', String(port), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const info = await new Promise<{ storeName: string; engineName: string }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const line = d.toString().split('\n').find((l) => l.includes('"ready"'));
        if (line) resolve(JSON.parse(line));
      });
      child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
    const url = `https://127.0.0.1:${port}`;
    const anchor = await inProcess(seconds, dir);
    await cannon(url, 2, connections); // warm-up
    const max = await cannon(url, seconds, connections);
    const half = Math.max(1, Math.floor(max.requests.average / 2));
    const paced = await cannon(url, seconds, pacedConnections, half);
    const errors = max.non2xx + max.errors + paced.non2xx + paced.errors;
    const ratio = max.requests.average / anchor;
    console.log(`store: ${info.storeName}; policy: ${info.engineName}; quote: automata_v3 (real DCAP v3) at 2025-08-15`);
    console.log(`anchor  in-process verify+policy+sign (1 core, sequential): ${anchor.toFixed(0)} attestations/s`);
    console.log(`service HTTPS loopback, ${connections} connections, max:      ${max.requests.average.toFixed(0)} attestations/s  = ${(ratio * 100).toFixed(0)}% of anchor (target >= 50%)`);
    console.log(`        latency at max:  p50 ${max.latency.p50} ms  p90 ${max.latency.p90} ms  p99 ${max.latency.p99} ms`);
    console.log(`        at half max (${half}/s, ${pacedConnections} connections): p50 ${paced.latency.p50} ms  p90 ${paced.latency.p90} ms  p99 ${paced.latency.p99} ms (target p99 < 10 ms)`);
    console.log(`        non-2xx + errors: ${errors}`);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
