import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket, type ConnectionOptions } from 'node:tls';
import { createAttestationService, createTlsCertificate, type ServiceOptions } from '../../src/attestation/index.js';
import { policyEngine } from '../../src/cli/service-runtime.js';
import { freePort, REAL_CASE, testKeyProtector, type Running } from '../attestation/helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';

let tls: { key: string; cert: string } | null = null;

/** The service over HTTPS on 127.0.0.1 (real collateral, memory store) with any service option overridden. */
export async function startHardened(o: Partial<ServiceOptions> = {}): Promise<Running & { port: number; ca: string; key: string }> {
  tls ??= await createTlsCertificate(['127.0.0.1', 'localhost']);
  const dir = mkdtempSync(join(tmpdir(), 'confkube-sec-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.cert);
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const store = new MemoryStore();
  const svc = await createAttestationService({
    baseUrl: url, store, engine: policyEngine, tls, keyProtector: testKeyProtector,
    collateral: { directory: REAL_CASE.collateral }, verifyAt: () => REAL_CASE.nowMs,
    adminTokens: ['test-admin-token-0123456789abcdef'], policyPollMs: 0, warn: () => undefined,
    ...o,
  });
  await svc.app.listen({ host: '127.0.0.1', port });
  return {
    url, caFile, svc, store, port, ca: tls.cert, key: tls.key,
    async stop() {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TLS connection to the service; resolves once the handshake is done. */
export function tlsOpen(r: { port: number; ca: string }, extra: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: r.port, ca: r.ca, servername: 'localhost', ...extra }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the peer closes the socket (or it errors), with everything read from it. */
export function untilClosed(s: { on(e: 'data', f: (d: Buffer) => void): unknown; once(e: 'close', f: () => void): unknown; on(e: 'error', f: (e: Error) => void): unknown }): Promise<string> {
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString('latin1')));
  s.on('error', () => undefined);
  return new Promise((resolve) => s.once('close', () => resolve(text)));
}
