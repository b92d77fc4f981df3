// Secure key release over HTTPS, challenge–response (nonce, then quote + runtime data → JWE), with the key store on
// SQLite and on PostgreSQL, against the anchor measured in the same run on the same server: the attestation rate
// of POST /attest/SgxEnclave with a fresh simulated quote per request. Both loops make one quote per operation on
// the client, so the ratio is what a release costs beyond an attestation (a nonce round trip, the key lookup,
// RSA-OAEP wrapping, the audit record). The server runs in a child process; the client here.
// Usage: npm run bench:keyrelease [-- --seconds 5 --concurrency 8]
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAttestationService, createTlsCertificate } from '../src/attestation/index.js';
import { openServiceStore, policyEngine } from '../src/cli/service-runtime.js';
import { AesGcmKeyProtector } from '../src/store/index.js';
import { createPlatform } from '../src/sim/index.js';
import { freePort } from '../src/lib/net.js';
import { startPostgres } from '../support/postgres.js';
import { benchAsync, benchSeconds, benchSink } from './harness.js';

const SEED = 'bench-keyrelease';
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123';
const sha = (b: string | Uint8Array): Buffer => createHash('sha256').update(b).digest();
const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};

/** The child: the service on STORE_URL with the simulated platform's collateral, until killed. */
async function serve(port: number, storeUrl: string): Promise<void> {
  const platform = createPlatform({ seed: SEED });
  const tls = await createTlsCertificate(['127.0.0.1']);
  const store = await openServiceStore(storeUrl);
  const svc = await createAttestationService({
    baseUrl: `https://127.0.0.1:${port}`, store, engine: policyEngine, keyProtector: new AesGcmKeyProtector(sha('bench kek')), tls,
    collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } },
    adminTokens: [ADMIN_TOKEN], policyPollMs: 250, warn: () => undefined, log: () => undefined,
  });
  await svc.app.listen({ host: '127.0.0.1', port });
  process.stdout.write(`${JSON.stringify({ ready: true, cert: tls.cert })}\n`);
}

interface Client { call(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<{ status: number; text: string }> }

function client(url: string, ca: string, concurrency: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca });
  return {
    call: (method, path, body, headers = {}) => new Promise((resolve, reject) => {
      const req = request(new URL(path, url), { method, agent, headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    }),
  };
}

async function startServer(storeUrl: string): Promise<{ url: string; cert: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', String(port), storeUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  const cert = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"ready"'));
      if (line) resolve((JSON.parse(line) as { cert: string }).cert);
    });
    child.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { url: `https://127.0.0.1:${port}`, cert, stop: () => child.kill('SIGTERM') };
}

async function run(label: string, storeUrl: string, seconds: number, concurrency: number): Promise<{ attest: number; release: number }> {
  const platform = createPlatform({ seed: SEED });
  const server = await startServer(storeUrl);
  try {
    const c = client(server.url, server.cert, concurrency);
    const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
    const policy = {
      version: '1.0.0', anyOf: [{ authority: server.url, allOf: [{ claim: 'x-ms-sgx-mrsigner', equals: sha('bench signer').toString('hex') }, { claim: 'x-ms-sgx-is-debuggable', equals: false }] }],
      confkube: { allowSimulated: true },
    };
    const created = await c.call('PUT', '/keys/bench', JSON.stringify({ generateBytes: 32, releasePolicy: policy }), { authorization: `Bearer ${ADMIN_TOKEN}` });
    if (created.status !== 201) throw new Error(`PUT /keys/bench: ${created.status} ${created.text}`);
    let serial = 0;
    const evidence = (nonce: string): string => {
      const r = Buffer.from(JSON.stringify({ nonce, keys: [{ kty: 'RSA', kid: 'bench', key_ops: ['encrypt'], n: jwk.n, e: jwk.e }] }));
      const quote = platform.quote({ mrEnclave: sha('bench enclave'), mrSigner: sha('bench signer'), isvSvn: 1, isvProdId: 1, reportData: Buffer.concat([sha(r), Buffer.alloc(32)]) });
      return JSON.stringify({ quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: r.toString('base64url'), dataType: 'JSON' } });
    };
    const expect = (what: string, r: { status: number; text: string }): string => {
      if (r.status !== 200) throw new Error(`${label} ${what}: ${r.status} ${r.text}`);
      return r.text;
    };
    const attestOnce = async (): Promise<string> => expect('attest', await c.call('POST', '/attest/SgxEnclave?api-version=2022-08-01', evidence(`attest-${serial++}`)));
    const releaseOnce = async (): Promise<string> => {
      const { nonce } = JSON.parse(expect('nonce', await c.call('POST', '/keys/bench/nonce'))) as { nonce: string };
      return expect('release', await c.call('POST', '/keys/bench/release', evidence(nonce)));
    };
    // The anchor is measured before and after the releases and averaged, so drift on a shared machine hits both sides.
    const before = await benchAsync(`${label}: attest  POST /attest/SgxEnclave (anchor, before)`, attestOnce, { seconds, concurrency, width: 66 });
    const release = await benchAsync(`${label}: release nonce + POST /keys/bench/release`, releaseOnce, { seconds, concurrency, width: 66 });
    const after = await benchAsync(`${label}: attest  POST /attest/SgxEnclave (anchor, after)`, attestOnce, { seconds, concurrency, width: 66 });
    const attest = (before + after) / 2;
    console.log(`${label}: release / attest = ${(release / attest).toFixed(2)}`);
    return { attest, release };
  } finally {
    server.stop();
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--serve') return serve(Number(process.argv[3]), process.argv[4]!);
  const seconds = benchSeconds(5);
  const concurrency = arg('concurrency', 8);
  const dir = mkdtempSync(join(tmpdir(), 'confkube-bench-kr-'));
  const pg = await startPostgres();
  try {
    const sqlite = await run('sqlite', `sqlite:${join(dir, 'bench.db')}`, seconds, concurrency);
    const postgres = await run('postgres', pg.url, seconds, concurrency);
    console.log(`\nreleases per second over HTTPS, challenge–response, ${concurrency} in flight, anchor = attestations per second of the same server:`);
    console.log(`  sqlite    ${sqlite.release.toFixed(0)} releases/s = ${(sqlite.release / sqlite.attest).toFixed(2)} × attest (${sqlite.attest.toFixed(0)}/s)`);
    console.log(`  postgres  ${postgres.release.toFixed(0)} releases/s = ${(postgres.release / postgres.attest).toFixed(2)} × attest (${postgres.attest.toFixed(0)}/s)`);
    console.log(`  postgres / sqlite releases: ${(postgres.release / sqlite.release).toFixed(2)}  (sink ${benchSink() > 0 ? 'ok' : 'empty'})`);
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
