// The attestation service over HTTPS on 127.0.0.1 as tests and benchmarks start it: a throwaway certificate, the
// in-memory store unless one is given, the real vector's collateral, one test KEK and admin token.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAttestationService, createTlsCertificate, type AttestationService, type AttestationStore, type PolicyEngine, type CollateralOptions } from '../src/attestation/index.js';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from './memory-store.js';
import { policyEngine } from '../src/cli/service-runtime.js';
import type { ReleasableKey, TrustedIssuer } from '../src/keyrelease/index.js';
import { AesGcmKeyProtector, SqliteStore } from '../src/store/index.js';
import type { DashboardOptions } from '../src/web/index.js';

export const FIXTURES = fileURLToPath(new URL('../test/fixtures/attestation/', import.meta.url));
/** automata_2025-08 case (README): verified at its collateral's issue time. */
export const REAL_CASE = { quote: join(FIXTURES, 'quotes/automata_v3.bin'), collateral: join(FIXTURES, 'collateral/automata_2025-08'), nowMs: 1755236700_000 };

/** The key-encryption key of every test service (stores shared between test services need one KEK). */
export const TEST_KEK_HEX = '07'.repeat(32);
export const testKeyProtector = new AesGcmKeyProtector(Buffer.from(TEST_KEK_HEX, 'hex'));

export { freePort } from '../src/lib/net.js';
import { freePort } from '../src/lib/net.js';

export interface Running {
  url: string;
  caFile: string;
  svc: AttestationService;
  store: AttestationStore;
  stop(): Promise<void>;
}

let tls: { key: string; cert: string } | null = null;

/** The service under test over HTTPS on 127.0.0.1 with a throwaway self-signed certificate. */
export async function startService(o: {
  store?: AttestationStore; engine?: PolicyEngine; nowMs?: number; collateral?: CollateralOptions;
  adminTokens?: string[]; policySigners?: string[]; bodyLimit?: number; policyPollMs?: number; closeStore?: boolean; plain?: boolean; now?: () => number; warn?: (m: string) => void; releasableKeys?: ReleasableKey[] | ((url: string) => ReleasableKey[]); requireBoundSignatures?: boolean; keyStore?: boolean; trustedIssuers?: TrustedIssuer[];
  viewerTokens?: string[]; dashboard?: DashboardOptions;
} = {}): Promise<Running> {
  tls ??= await createTlsCertificate(['127.0.0.1', 'localhost']);
  const dir = mkdtempSync(join(tmpdir(), 'confkube-svc-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.cert);
  const port = await freePort();
  const url = `${o.plain ? 'http' : 'https'}://127.0.0.1:${port}`;
  // Keys live in a key store: a service given keys (or asked for one) without a store gets a SQLite file in its folder.
  const store = o.store ?? (o.releasableKeys || o.keyStore ? SqliteStore.open(join(dir, 'store.db')) : new MemoryStore());
  const releasableKeys = typeof o.releasableKeys === 'function' ? o.releasableKeys(url) : o.releasableKeys;
  const svc = await createAttestationService({
    baseUrl: url, store, engine: o.engine ?? policyEngine, keyProtector: testKeyProtector, ...(o.plain ? {} : { tls }),
    ...(o.now ? { now: o.now } : {}),
    collateral: o.collateral ?? { directory: REAL_CASE.collateral },
    verifyAt: o.now ?? (() => o.nowMs ?? REAL_CASE.nowMs),
    adminTokens: o.adminTokens ?? ['test-admin-token-0123456789abcdef'],
    ...(o.policySigners ? { policySigners: o.policySigners } : {}),
    ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}),
    policyPollMs: o.policyPollMs ?? 0,
    warn: o.warn ?? (() => undefined),
    ...(releasableKeys ? { releasableKeys } : {}),
    ...(o.trustedIssuers ? { trustedIssuers: o.trustedIssuers } : {}),
    ...(o.requireBoundSignatures ? { requireBoundSignatures: true } : {}),
    ...(o.viewerTokens ? { viewerTokens: o.viewerTokens } : {}),
    ...(o.dashboard ? { dashboard: o.dashboard } : {}),
  });
  await svc.app.listen({ host: '127.0.0.1', port });
  return {
    url, caFile, svc, store,
    async stop() {
      await svc.close();
      if (o.closeStore || (!o.store && store.kind === 'sqlite')) await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** fetch() against the test CA without touching process-wide TLS settings: a one-off undici dispatcher is not available, so use https. */
export async function request(r: Running, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => any }> {
  const https = await import('node:https');
  const { readFileSync } = await import('node:fs');
  return new Promise((resolve, reject) => {
    const u = new URL(path, r.url);
    const req = https.request(u, { method, ca: readFileSync(r.caFile), headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
