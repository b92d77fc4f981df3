import { randomUUID } from 'node:crypto';
import { CONFKUBE_VERSION } from '../lib/version.js';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AttestationStore, PolicyEngine, QuoteVerifier } from './deps.js';
import { Verifier } from '../dcap/index.js';
import { Attester } from './attest.js';
import { CollateralCache, type CollateralOptions } from './collateral-cache.js';
import type { ServiceContext } from './context.js';
import { AttestationError, CollateralUnavailableError, cloudError } from './errors.js';
import { Keyring } from './keyring.js';
import { ServiceMetrics } from './metrics.js';
import { PolicyBook } from './policies.js';
import { thumbprint } from './policy-jws.js';
import { X509Certificate } from 'node:crypto';
import { attestRoutes } from './routes/attest.js';
import { certificateRoutes } from './routes/certificates.js';
import { discoveryRoutes } from './routes/discovery.js';
import { pccsRoutes } from './routes/pccs.js';
import { policyRoutes } from './routes/policies.js';
import { KeyReleaseError, keyReleaseRoutes, type ReleasableKey } from '../keyrelease/index.js';

export interface ServiceOptions {
  /** Canonical public base URL, no trailing slash: `iss`, `jku` prefix, OpenID issuer, signing cert CN (spec §1). */
  baseUrl: string;
  store: AttestationStore;
  engine: PolicyEngine;
  /** DCAP quote verification with its caches; default a src/dcap Verifier of the service's own. */
  verifier?: QuoteVerifier;
  collateral: CollateralOptions;
  /** TLS key and certificate (PEM). Without them the service speaks plain HTTP (for a TLS-terminating proxy). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** "now" in ms for tokens, audit and key rotation. */
  now?: () => number;
  /** The time quotes and collateral are verified at (ms); default `now`. Injectable so real quotes verify against their recorded collateral. */
  verifyAt?: () => number;
  adminTokens?: string[];
  /** Isolated mode: PEM certificates of the initial policy signers (registered if the store has none). */
  policySigners?: string[];
  /** Largest accepted request body, bytes (default 256 KiB: a DCAP quote is ~5 KiB). */
  bodyLimit?: number;
  /** Poll the store's policy version this often (ms); 0 disables (single process). */
  policyPollMs?: number;
  /** Warnings at start (simulation mode). Default: stderr. */
  warn?: (msg: string) => void;
  /** Secrets released only to enclaves whose token satisfies the key's release policy (src/keyrelease). */
  releasableKeys?: ReleasableKey[];
  /** Collect process metrics (off in tests that build many services). */
  defaultMetrics?: boolean;
}

export interface AttestationService {
  app: FastifyInstance;
  ctx: ServiceContext;
  close(): Promise<void>;
}

export const SERVICE_VERSION = CONFKUBE_VERSION;

export function normaliseBaseUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new AttestationError(400, 'InvalidParameter', `base URL ${JSON.stringify(u)} is not a URL`, 'ERR_BAD_BASE_URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AttestationError(400, 'InvalidParameter', `base URL ${u}: expected https://`, 'ERR_BAD_BASE_URL');
  if (/[,+=;]/.test(u)) throw new AttestationError(400, 'InvalidParameter', `base URL ${u}: must not contain , + = ; (it is the signing certificate's CN)`, 'ERR_BAD_BASE_URL');
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** Build (not listen) the MAA-compatible service: a list of route plugins over one context (STYLE.md). */
export async function createAttestationService(o: ServiceOptions): Promise<AttestationService> {
  const baseUrl = normaliseBaseUrl(o.baseUrl);
  const now = o.now ?? Date.now;
  const warn = o.warn ?? ((m: string) => process.stderr.write(`confkube: WARNING: ${m}\n`));
  await o.store.migrate();
  const keyring = new Keyring(o.store, baseUrl, now);
  await keyring.init();
  // Replicas pick up keys rotated by another process.
  const keyTimer = setInterval(() => {
    keyring.reload().catch(() => undefined);
  }, 10_000);
  keyTimer.unref();
  const policies = new PolicyBook(o.store, o.engine);
  await policies.init(o.policyPollMs ?? 250);
  const verifier = o.verifier ?? new Verifier();
  const collateral = new CollateralCache(o.store, o.collateral, o.verifyAt ?? now, verifier);
  await collateral.init();
  if (o.policySigners?.length && (await o.store.listPolicyCertificates()).length === 0) {
    for (const pem of o.policySigners) {
      const c = new X509Certificate(pem);
      await o.store.addPolicyCertificate({ thumbprint: thumbprint(c), certificatePem: c.toString(), addedAt: now() });
    }
  }
  if (o.collateral.simulated) {
    warn('simulation mode is ON: quotes from the simulated SGX platform are trusted and their tokens carry "x-ms-sgx-is-simulated": true. Never use this in production.');
  }
  const metrics = new ServiceMetrics(o.defaultMetrics ?? false);
  const ctx: ServiceContext = {
    baseUrl, now, store: o.store, engine: o.engine, keyring, policies, collateral, metrics,
    attester: new Attester({ baseUrl, now, verifyAt: o.verifyAt ?? now, keyring, policies, engine: o.engine, collateral, verifier, simulationEnabled: o.collateral.simulated !== undefined }),
    adminTokens: o.adminTokens ?? [],
    isolated: (o.policySigners?.length ?? 0) > 0,
  };

  const app = Fastify({
    ...(o.tls ? { https: { key: o.tls.key, cert: o.tls.cert } } : {}),
    bodyLimit: o.bodyLimit ?? 256 * 1024,
    // A client that trickles its request must not hold a socket forever.
    requestTimeout: 30_000,
    logger: false,
    genReqId: () => randomUUID(),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-ms-request-id', req.id);
    reply.header('x-ms-maa-service-version', SERVICE_VERSION);
  });

  // Every failure leaves in MAA's CloudError shape; bad input is a 4xx, never a 500 (STYLE.md "Errors").
  app.setErrorHandler((err: FastifyError | AttestationError | Error, _req, reply) => {
    if (err instanceof AttestationError || err instanceof KeyReleaseError) return reply.code(err.status).send(cloudError(err.maaCode, err.message));
    if (err instanceof CollateralUnavailableError) return reply.code(400).send(cloudError('CollateralUnavailable', err.message));
    const fe = err as FastifyError;
    if (fe.validation) return reply.code(400).send(cloudError('InvalidParameter', `request ${fe.validationContext ?? ''}: ${fe.message}`));
    const status = fe.statusCode ?? 500;
    if (status === 413) return reply.code(413).send(cloudError('PayloadTooLarge', `request body larger than ${o.bodyLimit ?? 256 * 1024} bytes`));
    if (status === 415) return reply.code(415).send(cloudError('UnsupportedMediaType', fe.message));
    if (status >= 400 && status < 500) return reply.code(status).send(cloudError('InvalidParameter', fe.message));
    warn(`internal error: ${err.stack ?? err.message}`);
    return reply.code(500).send(cloudError('InternalError', 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(cloudError('NotFound', `${req.method} ${req.url.split('?')[0].slice(0, 200)}: no such operation`));
  });

  attestRoutes(app, ctx);
  discoveryRoutes(app, ctx);
  policyRoutes(app, ctx);
  certificateRoutes(app, ctx);
  pccsRoutes(app, ctx);
  // Key release lives apart from attestation (STYLE.md: Trustee keeps the key broker apart); it only reads tokens.
  keyReleaseRoutes(app, {
    baseUrl, now, jwks: () => keyring.jwks(),
    keys: new Map((o.releasableKeys ?? []).map((k) => [k.name, k])),
    audit: async (r) => {
      const c = r.claims ?? {};
      const str = (k: string): string | null => (typeof c[k] === 'string' ? (c[k] as string) : null);
      await o.store.appendAudit({
        time: now(), clientAddress: r.clientAddress, attestationType: `keyrelease/${r.name}`, mrEnclave: str('x-ms-sgx-mrenclave'), mrSigner: str('x-ms-sgx-mrsigner'),
        tcbStatus: str('x-ms-sgx-tcb-status'), decision: r.decision, policyHash: str('x-ms-policy-hash'), tokenId: str('jti'), simulated: c['x-ms-sgx-is-simulated'] === true, reason: r.reason,
      });
    },
  });
  app.get('/metrics', async (_req, reply) => {
    for (const r of await o.store.listCollateral()) {
      metrics.collateralAge.set({ key: r.key }, (now() - r.fetchedAt) / 1000);
      if (r.nextUpdate !== null) metrics.collateralNextUpdate.set({ key: r.key }, (r.nextUpdate - now()) / 1000);
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  await app.ready();
  return {
    app, ctx,
    async close() {
      policies.stop();
      clearInterval(keyTimer);
      await app.close();
    },
  };
}
