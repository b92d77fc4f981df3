// GET /pckcert of a cached platform (store read, Intel's PCK certificate selection, Intel's headers) next to an
// anchor measured in the same run on the same service and store: GET /sgx/certification/v4/qe/identity, a cached
// collateral route that is one store read and the raw bytes. Both through fastify's inject (no sockets), so the
// ratio is what selection and the PCK answer cost beyond serving a cached body. Target: ≥ 0.5 of the anchor.
// Usage: npx tsx bench/pccs.ts [--seconds 3] [--store sqlite|memory]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createAttestationService, type AttestationStore } from '../src/attestation/index.js';
import { openServiceStore, policyEngine } from '../src/cli/service-runtime.js';
import { AesGcmKeyProtector } from '../src/store/index.js';
import { createPlatform } from '../src/sim/index.js';
import { simulatedPcs } from '../src/sim/pcs.js';
import { MemoryStore } from '../support/memory-store.js';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SECONDS = Number(arg('seconds', '3'));
const STORE = arg('store', 'sqlite');

async function rate(url: string, inject: (url: string) => Promise<{ statusCode: number }>): Promise<number> {
  for (let i = 0; i < 200; i++) if ((await inject(url)).statusCode !== 200) throw new Error(`${url}: not 200`);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  while (performance.now() < end) {
    await inject(url);
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

const dir = mkdtempSync(join(tmpdir(), 'confkube-bench-pccs-'));
try {
  const platform = createPlatform({ seed: 'bench-pccs', status: 'OutOfDate' });
  mkdirSync(join(dir, 'collateral'));
  for (const f of platform.collateralFiles()) writeFileSync(join(dir, 'collateral', f.name), f.data);
  const store: AttestationStore = STORE === 'memory' ? new MemoryStore() : await openServiceStore(`sqlite:${join(dir, 'bench.db')}`);
  const svc = await createAttestationService({
    baseUrl: 'https://127.0.0.1:1', store, engine: policyEngine, keyProtector: new AesGcmKeyProtector(randomBytes(32)),
    collateral: { directory: join(dir, 'collateral'), intelAnchors: [platform.rootCertDer] }, verifyAt: () => platform.expected.verificationTime.getTime(), policyPollMs: 0, warn: () => undefined,
  });
  const a = await simulatedPcs(platform).pckCerts(platform.registration);
  await svc.pck.put(platform.registration, a, false);
  const r = platform.registration;
  const inject = (url: string) => svc.app.inject({ method: 'GET', url });
  const anchor = await rate('/sgx/certification/v4/qe/identity', inject);
  const pck = await rate(`/sgx/certification/v4/pckcert?cpusvn=${r.cpu_svn}&pcesvn=${r.pce_svn}&pceid=${r.pce_id}&qeid=${r.qe_id}`, inject);
  console.table([
    { what: 'anchor: GET /qe/identity (cached body)', opsPerSec: Math.round(anchor), ratio: 1 },
    { what: `GET /pckcert (${a.entries.length} certificates, selection)`, opsPerSec: Math.round(pck), ratio: Number((pck / anchor).toFixed(2)) },
  ]);
  console.log(`store ${STORE}, ${SECONDS} s each`);
  await svc.close();
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
