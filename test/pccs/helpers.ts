// A test peer standing in for Intel PCS v4's Get PCK Certificates API, and a service under test in front of it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAttestationService, type AttestationService, type CollateralOptions, type PccsOptions } from '../../src/attestation/index.js';
import { policyEngine } from '../../src/cli/service-runtime.js';
import { createPlatform, type SimPlatform } from '../../src/sim/index.js';
import { simulatedPcs } from '../../src/sim/pcs.js';
import { toPem } from '../../src/lib/pem.js';
import { freePort } from '../../src/lib/net.js';
import { MemoryStore } from '../../support/memory-store.js';
import { testKeyProtector } from '../attestation/helpers/harness.js';
export { runCliAsync } from '../helpers/cli.js';

export const API_KEY = 'pcs-subscription-key-0123456789abcdef';
export const ADMIN = 'test-admin-token-0123456789abcdef';

/** A fixed platform: its certificates chain to the simulated root, which the services below take as their "Intel" anchor. */
export const platform: SimPlatform = createPlatform({ seed: 'pccs-routes', issuedAt: new Date('2026-06-01T00:00:00Z') });

/**
 * Replays Intel PCS v4 `GET /sgx/certification/v4/pckcerts` as Intel's API documentation describes it: the
 * subscription key in `Ocp-Apim-Subscription-Key` (401, `Request-ID` only, when wrong or missing), 400 with `Error-Code`
 * and `Error-Message` for malformed parameters, 404 (`Request-ID` only) for an encrypted PPID it does not know, and on
 * success a JSON array of
 * `{tcb, tcbm, cert}` (cert URL-encoded PEM) with `Request-ID`, `SGX-PCK-Certificate-Issuer-Chain` (URL-encoded PEM),
 * `SGX-FMSPC` and `SGX-PCK-Certificate-CA-Type`; and the platform's TCB Info, QE Identity and CRLs as PCS serves them
 * (no key needed). `calls` counts every request it receives.
 */
export async function startPcsPeer(p: SimPlatform = platform): Promise<{ url: string; calls: () => number; stop(): Promise<void> }> {
  const pcs = simulatedPcs(p);
  const answer = await pcs.pckCerts(p.registration);
  let calls = 0;
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    calls++;
    const rid = (++n).toString(16).padStart(32, '0');
    const u = new URL(req.url ?? '/', 'http://x');
    res.setHeader('Request-ID', rid);
    // The collateral routes need no subscription key (PCS v4); pckcerts does.
    const chain = encodeURIComponent(p.collateral.tcbSigningChainPem);
    const crlChain = encodeURIComponent(toPem(p.certificates.processorCa) + p.rootCertPem);
    const files: Record<string, [Uint8Array, Record<string, string>]> = {
      [`/sgx/certification/v4/tcb?fmspc=${p.expected.fmspc}`]: [p.collateral.tcbInfo, { 'TCB-Info-Issuer-Chain': chain, 'content-type': 'application/json' }],
      '/sgx/certification/v4/qe/identity': [p.collateral.qeIdentity, { 'SGX-Enclave-Identity-Issuer-Chain': chain, 'content-type': 'application/json' }],
      '/sgx/certification/v4/pckcrl?ca=processor&encoding=der': [p.collateral.pckProcessorCrl, { 'SGX-PCK-CRL-Issuer-Chain': crlChain, 'content-type': 'application/pkix-crl' }],
      '/sgx/certification/v4/rootcacrl': [p.collateral.rootCaCrl, { 'content-type': 'application/pkix-crl' }],
    };
    const file = files[req.url ?? ''];
    if (file) {
      res.writeHead(200, file[1]).end(file[0]);
      return;
    }
    if (req.headers['ocp-apim-subscription-key'] !== API_KEY) {
      res.writeHead(401).end();
      return;
    }
    if (req.method !== 'GET' || u.pathname !== '/sgx/certification/v4/pckcerts') {
      res.writeHead(404).end();
      return;
    }
    const enc = u.searchParams.get('encrypted_ppid') ?? '';
    const pceid = u.searchParams.get('pceid') ?? '';
    if (!/^[0-9a-fA-F]{768}$/.test(enc) || !/^[0-9a-fA-F]{4}$/.test(pceid)) {
      res.writeHead(400, { 'Error-Code': 'InvalidRequestSyntax', 'Error-Message': 'Invalid or missing parameter' }).end();
      return;
    }
    if (enc.toUpperCase() !== p.registration.enc_ppid) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json',
      'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(answer.issuerChain),
      'SGX-FMSPC': answer.fmspc,
      'SGX-PCK-Certificate-CA-Type': answer.ca,
    }).end(answer.raw);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The service (plain HTTP on 127.0.0.1) with the platform's TCB Info as its collateral and its root as trust anchor. */
export async function startPccs(pccs: PccsOptions, o: { store?: MemoryStore; collateral?: CollateralOptions; now?: () => number } = {}): Promise<{ url: string; svc: AttestationService; store: MemoryStore; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-pccs-'));
  for (const f of platform.collateralFiles()) writeFileSync(join(dir, f.name), f.data);
  const store = o.store ?? new MemoryStore();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const svc = await createAttestationService({
    baseUrl: url, store, engine: policyEngine, keyProtector: testKeyProtector,
    collateral: o.collateral ?? { directory: dir, intelAnchors: [platform.rootCertDer] },
    verifyAt: o.now ?? (() => platform.expected.verificationTime.getTime()),
    adminTokens: [ADMIN], policyPollMs: 0, warn: () => undefined, pccs,
  });
  await svc.app.listen({ host: '127.0.0.1', port });
  return {
    url, svc, store,
    async stop() {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET /pckcert's query for a registration (optionally another raw TCB). */
export function pckcertQuery(r: SimPlatform['registration'], cpusvn = r.cpu_svn, pcesvn = r.pce_svn): string {
  return `/sgx/certification/v4/pckcert?encrypted_ppid=${r.enc_ppid}&cpusvn=${cpusvn}&pcesvn=${pcesvn}&pceid=${r.pce_id}&qeid=${r.qe_id}`;
}

