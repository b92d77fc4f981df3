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
import { ATTESTATION_TYPES, PolicyBook } from './policies.js';
import { checkValidity, thumbprint } from './policy-jws.js';
import { AdminAuth, type ThrottleOptions } from './admin-auth.js';
import { ManagementSigner } from './management-token.js';
import { SignedRequestGuard } from './signed-request.js';
import { X509Certificate } from 'node:crypto';
import { attestRoutes } from './routes/attest.js';
import { certificateRoutes } from './routes/certificates.js';
import { discoveryRoutes } from './routes/discovery.js';
import { pccsRoutes } from './routes/pccs.js';
import { pckRoutes } from './routes/pck.js';
import { PckService, type PccsMode } from '../pccs/pck-service.js';
import { PcsSource, type PckSource } from '../pccs/pcs-source.js';
import { fetchPcsCollateral } from './pcs-client.js';
import { intelSgxRootCaDer } from '../dcap/intel-root.js';
import { policyRoutes } from './routes/policies.js';
import { KeyReleaseError, keyManagementRoutes, keyReleaseRoutes, StoreKeySource, type EvidenceSummary, type ReleasableKey, type TrustedIssuer } from '../keyrelease/index.js';
import type { ReleaseKeyStore } from '../store/types.js';
import { defaultPoolOptions, PolicyPool, type PolicyPoolOptions } from './policy-pool.js';
import type { PolicyBudget } from './deps.js';
import { clientErrorHandler, createNodeServer, DEFAULT_CONNECTION_LIMITS, securityHeaders, type ConnectionLimits } from './http-server.js';
import type { KeyProtector } from '../store/sealed-key.js';
import { ConfkubeError } from '../lib/errors.js';
import { healthRoutes, isStoreUnavailable, StoreHealth } from './store-health.js';
import { checkSimulationMark } from './simulation-mark.js';
import { keyScheduleMetrics } from './key-metrics.js';
import { KEY_RELOAD_MS } from './keyring.js';
import { dashboardRoutes, libraryPlanner, type DashboardOptions } from '../web/index.js';

export interface ServiceOptions {
  /** Canonical public base URL, no trailing slash: `iss`, `jku` prefix, OpenID issuer, signing cert CN (docs/attestation.md §Token). */
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
  /** Bearer tokens for policy management (at least 32 characters each). None: management is disabled. */
  adminTokens?: string[];
  /** Tokens that log in to the dashboard read-only (at least 32 characters each; docs/dashboard.md §Roles). */
  viewerTokens?: string[];
  /** The dashboard at /ui (src/web): its cluster and planner; false leaves it out. */
  dashboard?: DashboardOptions | false;
  /** Throttling of failed management authentications per client address. */
  authThrottle?: ThrottleOptions;
  /**
   * Isolated mode: PEM certificates of the initial policy signers (registered if the store has none). A store
   * that holds policy signers stays isolated without them (docs/policy-signing.md §1).
   */
  policySigners?: string[];
  /** Isolated mode: refuse signed bodies that do not name their operation, type and `iat` (docs/policy-signing.md §3). */
  requireBoundSignatures?: boolean;
  /** Largest accepted request body, bytes (default 256 KiB: a DCAP quote is ~5 KiB). */
  bodyLimit?: number;
  /** Poll the store's policy version this often (ms); 0 disables (single process). */
  policyPollMs?: number;
  /** Warnings at start (simulation mode). Default: stderr. */
  warn?: (msg: string) => void;
  /**
   * The key store (src/keyrelease, docs/keyrelease.md §Key store); default the service's store when it has one
   * (SQLite and PostgreSQL do). Without one, no key is releasable and key management answers 501.
   */
  keyStore?: ReleaseKeyStore;
  /** Keys imported into the key store at start (`confkube serve --release-key`); unchanged ones are left alone. */
  releasableKeys?: ReleasableKey[];
  /** Other attestation services whose tokens key release accepts, with their keys (`--trusted-issuer`, docs/keyrelease.md §Trusted issuers). */
  trustedIssuers?: TrustedIssuer[];
  /** Collect process metrics (off in tests that build many services). */
  defaultMetrics?: boolean;
  /** Timeouts and the connection cap for slow or numerous clients (http-server.ts). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Steps and wall time one policy evaluation may take (default 1,000,000 steps, 1000 ms). */
  policyBudget?: Partial<PolicyBudget>;
  /** The worker threads draft policies run on (policy-pool.ts). */
  draftPool?: Partial<Omit<PolicyPoolOptions, 'budget'>>;
  /** Seals the signing keys in the store (docs/key-protection.md): they are never stored in plaintext. */
  keyProtector: KeyProtector;
  /** Names the store in messages (URL without password); default its kind. */
  storeName?: string;
  /** Outage start and end lines, key retirements (default: stderr, like warn). */
  log?: (msg: string) => void;
  /** PCK certificates for quote generation (docs/pccs.md). */
  pccs?: PccsOptions;
}

export interface PccsOptions {
  /** Default LAZY with an upstream, else OFFLINE. */
  mode?: PccsMode;
  /** Intel PCS v4 (https://api.trustedservices.intel.com) or a PCCS, asked on a miss (LAZY) or at registration (REQ). */
  upstream?: string;
  /** Sent as `Ocp-Apim-Subscription-Key`. */
  apiKey?: string;
  /** The simulated platform's PCS (src/sim/pcs.ts), in simulation mode. */
  simulated?: PckSource;
  upstreamTimeoutMs?: number;
}

export interface AttestationService {
  app: FastifyInstance;
  ctx: ServiceContext;
  /** PCK certificates for quote generation (docs/pccs.md). */
  pck: PckService;
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

/** Build (not listen) the MAA-compatible service: a list of route plugins over one context (docs/attestation.md §Decisions). */
export async function createAttestationService(o: ServiceOptions): Promise<AttestationService> {
  const baseUrl = normaliseBaseUrl(o.baseUrl);
  const now = o.now ?? Date.now;
  const warn = o.warn ?? ((m: string) => process.stderr.write(`confkube: WARNING: ${m}\n`));
  const log = o.log ?? o.warn ?? ((m: string) => process.stderr.write(`confkube: ${m}\n`));
  await o.store.migrate();
  await checkSimulationMark(o.store, o.collateral.simulated !== undefined, o.storeName ?? o.store.kind);
  const metrics = new ServiceMetrics(o.defaultMetrics ?? false);
  // Every store call the service makes reports to the health monitor (503s, /readyz, one log line per outage).
  const health = new StoreHealth(o.store, { registry: metrics.registry, now: Date.now, log });
  const store = health.wrap();
  const keyring = new Keyring(store, baseUrl, now, { protector: o.keyProtector, log });
  await keyring.init();
  keyScheduleMetrics(metrics.registry, keyring);
  // Replicas pick up keys rotated by another process (published before they sign: keyring.ts).
  const keyTimer = setInterval(() => {
    keyring.reload().catch(() => undefined);
  }, KEY_RELOAD_MS);
  keyTimer.unref();
  const policies = new PolicyBook(store, o.engine);
  await policies.init(o.policyPollMs ?? 250);
  const verifier = o.verifier ?? new Verifier();
  const collateral = new CollateralCache(store, o.collateral, o.verifyAt ?? now, verifier);
  await collateral.init();
  const admin = new AdminAuth(o.adminTokens ?? [], now, o.authThrottle, o.viewerTokens ?? []);
  const registeredSigners = await store.listPolicyCertificates();
  if (o.policySigners?.length && registeredSigners.length === 0) {
    for (const pem of o.policySigners) {
      const c = new X509Certificate(pem);
      checkValidity(c, now(), `policy signer ${c.subject.replace(/\n/g, ', ')}`);
      await store.addPolicyCertificate({ thumbprint: thumbprint(c), certificatePem: c.toString(), addedAt: now() });
    }
  } else if (!o.policySigners?.length && registeredSigners.length > 0) {
    warn(`isolated mode: the store holds ${registeredSigners.length} policy signer certificate(s); policy changes still need a JWS signed by one of them`);
  }
  if (!admin.configured) warn('no admin token: policy management (GET/PUT /policies, /certificates) is disabled');
  const defaults = ATTESTATION_TYPES.filter((t) => policies.get(t).isDefault);
  if (defaults.length > 0) {
    // Azure's default is kept for compatibility; operators must know what it lets through (docs/attestation-policy.md).
    warn(`the ${defaults.join(' and ')} policy in force is Azure's default: it permits debug enclaves and every TCB status, OutOfDate included. For production set a strict policy (samples/policies/sgx-strict.policy, docs/attestation-policy.md).`);
  }
  if (o.collateral.simulated) {
    warn('simulation mode is ON: quotes from the simulated SGX platform are trusted and their tokens carry "x-ms-sgx-is-simulated": true. Never use this in production.');
  }
  const budget: PolicyBudget = { maxSteps: 1_000_000, maxMs: 1000, ...o.policyBudget };
  const drafts = new PolicyPool({ ...defaultPoolOptions(budget), ...o.draftPool });
  const ctx: ServiceContext = {
    baseUrl, now, store, engine: o.engine, keyring, policies, collateral, metrics, drafts,
    attester: new Attester({ baseUrl, now, verifyAt: o.verifyAt ?? now, keyring, policies, engine: o.engine, collateral, verifier, simulationEnabled: o.collateral.simulated !== undefined, drafts, budget }),
    admin, managementSigner: new ManagementSigner(baseUrl, now), signedRequests: new SignedRequestGuard(store, policies, now, o.requireBoundSignatures ?? false),
  };

  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...o.connectionLimits };
  const tls = o.tls;
  const app = Fastify({
    // A client that trickles its handshake, headers or body, or idles on a keep-alive connection, is cut off.
    serverFactory: (handler) => createNodeServer(handler, tls, limits),
    clientErrorHandler: clientErrorHandler(tls !== undefined),
    bodyLimit: o.bodyLimit ?? 256 * 1024,
    logger: false,
    genReqId: () => randomUUID(),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  const headers = securityHeaders(tls !== undefined);
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-ms-request-id', req.id);
    reply.header('x-ms-maa-service-version', SERVICE_VERSION);
    for (const [k, v] of Object.entries(headers)) if (!reply.hasHeader(k)) reply.header(k, v);
  });

  // Every failure leaves in MAA's CloudError shape; bad input is a 4xx, never a 500 (docs/attestation.md §Errors).
  app.setErrorHandler((err: FastifyError | AttestationError | Error, _req, reply) => {
    if (err instanceof AttestationError && err.headers) reply.headers(err.headers);
    // The database is away: 503 + Retry-After, logged once per outage by the monitor, never a stack per request.
    if (isStoreUnavailable(err) || (!health.isUp && !(err instanceof ConfkubeError) && (err as FastifyError).statusCode === undefined)) {
      return reply.code(503).header('retry-after', String(health.retryAfterS)).send(health.unavailableBody());
    }
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
  const pccs = o.pccs ?? {};
  const pckUpstream = pccs.upstream ? new PcsSource(pccs.upstream, pccs.apiKey, pccs.upstreamTimeoutMs) : undefined;
  const pck = new PckService(store, {
    mode: pccs.mode ?? (pckUpstream ? 'LAZY' : 'OFFLINE'), now,
    ...(pckUpstream ? { upstream: pckUpstream } : {}),
    ...(pccs.simulated && o.collateral.simulated ? { simulated: { source: pccs.simulated, rootCertDer: o.collateral.simulated.rootCertDer } } : {}),
    intelAnchors: o.collateral.intelAnchors ?? [intelSgxRootCaDer()],
    ...(pccs.upstream ? {
      fetchCollateral: async (fmspc: string) => {
        for (const r of await fetchPcsCollateral(pccs.upstream!, fmspc, now(), pccs.upstreamTimeoutMs)) await store.putCollateral(r);
        collateral.invalidate();
      },
    } : {}),
  });
  pckRoutes(app, ctx, pck);
  // Key release lives apart from attestation (docs/keyrelease.md §Decisions: Trustee keeps the key broker apart); it reads
  // tokens, and verifies challenge–response quotes through the same Attester as /attest/SgxEnclave.
  const rawKeyStore = o.keyStore ?? (typeof (o.store as Partial<ReleaseKeyStore>).getReleaseKeyVersion === 'function' ? (store as unknown as ReleaseKeyStore) : null);
  const keys = rawKeyStore ? new StoreKeySource(rawKeyStore, o.keyProtector, now) : null;
  if (o.releasableKeys?.length && !keys) throw new AttestationError(400, 'InvalidParameter', 'releasable keys need a key store (a SQLite or PostgreSQL store)', 'ERR_NO_KEY_STORE');
  for (const k of o.releasableKeys ?? []) {
    const r = await keys!.importKey(k.name, k.secret, k.policy, 'serve --release-key');
    if (r === 'deleted') warn(`--release-key ${k.name}: the key is deleted in the key store; recover it (POST /keys/${k.name}/recover) to release it again`);
    else if (r !== 'unchanged') log(`release key ${k.name}: ${r} from --release-key`);
  }
  const auditKeyEvent = (type: string, r: { name: string; version: string | null; decision: 'permit' | 'deny' | 'error'; reason: string | null; clientAddress: string; actor?: string | null }, c: Record<string, unknown>, ev: EvidenceSummary | null, tokenId: string | null): Promise<number> => {
    const str = (k: string): string | null => (typeof c[k] === 'string' ? (c[k] as string) : null);
    return store.appendAudit({
      time: now(), clientAddress: r.clientAddress, attestationType: `${type}/${r.name}`, mrEnclave: ev?.mrEnclave ?? str('x-ms-sgx-mrenclave'), mrSigner: ev?.mrSigner ?? str('x-ms-sgx-mrsigner'),
      tcbStatus: ev?.tcbStatus ?? str('x-ms-sgx-tcb-status'), decision: r.decision, policyHash: ev?.policyHash ?? str('x-ms-policy-hash'), tokenId,
      simulated: ev?.simulated ?? c['x-ms-sgx-is-simulated'] === true, reason: r.reason, actor: r.actor ?? null, keyVersion: r.version,
    });
  };
  const trustedIssuers = (o.trustedIssuers ?? []).map((t) => ({ ...t, issuer: normaliseBaseUrl(t.issuer) }));
  if (trustedIssuers.some((t) => t.issuer === baseUrl)) throw new AttestationError(400, 'InvalidParameter', `trusted issuer ${baseUrl} is this service: its keys come from its own key ring`, 'ERR_TRUSTED_ISSUER');
  keyReleaseRoutes(app, {
    baseUrl, now, jwks: () => keyring.jwks(), keys, trustedIssuers,
    verifyEvidence: async (quote, runtime) => {
      const out = await ctx.attester.attest({ type: 'SgxEnclave', evidence: quote, runtime, sign: false });
      const a = out.audit;
      const evidence = { mrEnclave: a.mrEnclave, mrSigner: a.mrSigner, tcbStatus: a.tcbStatus, simulated: a.simulated, policyHash: a.policyHash };
      return out.ok ? { ok: true, claims: out.claims, evidence } : { ok: false, denied: a.decision === 'deny', message: out.error.message, evidence };
    },
    audit: async (r) => {
      await auditKeyEvent('keyrelease', r, r.claims ?? {}, r.evidence, r.tokenId);
    },
  });
  keyManagementRoutes(app, {
    baseUrl, keys, authenticate: (req) => admin.check(req),
    audit: async (r) => {
      await auditKeyEvent('keymgmt', r, {}, null, null);
    },
  });
  healthRoutes(app, health);
  if (o.dashboard !== false) dashboardRoutes(app, ctx, { planner: libraryPlanner(), ...o.dashboard }, warn);
  app.get('/metrics', async (_req, reply) => {
    // During a store outage /metrics still answers (confkube_store_up 0), with the collateral gauges as last read.
    const records = await store.listCollateral().catch((e: unknown) => {
      if (isStoreUnavailable(e)) return [];
      throw e;
    });
    for (const r of records) {
      // PCK certificates are per platform and never expire by date: counted by the PCK routes instead (routes/pck.ts).
      if (r.key.startsWith('pck')) continue;
      metrics.collateralAge.set({ key: r.key }, (now() - r.fetchedAt) / 1000);
      if (r.nextUpdate !== null) metrics.collateralNextUpdate.set({ key: r.key }, (r.nextUpdate - now()) / 1000);
    }
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  await app.ready();
  return {
    app, ctx, pck,
    async close() {
      policies.stop();
      health.stop();
      clearInterval(keyTimer);
      await app.close();
      await drafts.close();
    },
  };
}
