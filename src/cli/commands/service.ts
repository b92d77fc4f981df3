import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { Command } from 'commander';
import { EXIT_REJECTED, UsageError, parseIntFlag, printJson, readInputFile } from '../util.js';
import { decodeBinaryInput } from '../../lib/bytes.js';
import { MIN_ADMIN_TOKEN_LENGTH } from '../../attestation/admin-auth.js';
import { createLogger } from '../../lib/log.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function readText(path: string, what: string): string {
  return Buffer.from(readInputFile(path, what)).toString('utf8');
}

export interface ServeFlags {
  listen: string;
  baseUrl?: string;
  store?: string;
  kekFile?: string;
  tlsKey?: string;
  tlsCert?: string;
  collateral?: string;
  pccsUrl?: string;
  pccsMode?: string;
  pcsUrl?: string;
  pcsApiKeyFile?: string;
  adminToken: string[];
  adminTokenFile: string[];
  viewerTokenFile: string[];
  dashboardCluster?: string;
  dashboardAgents?: string;
  policySigner: string[];
  requireBoundSignatures?: boolean;
  simulation?: string;
  verifyAt?: string;
  bodyLimit?: string;
  releaseKey: string[];
  trustedIssuer: string[];
}

/** `host:port` → parts; 127.0.0.1 unless told otherwise (servers bind loopback by default). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`--listen: expected host:port, got ${JSON.stringify(s)}`);
  return { host: m[1] || m[2] || '127.0.0.1', port: Number(m[3]) };
}

/**
 * Admin tokens from files (one per line), the environment (`CONFKUBE_ADMIN_TOKENS`, comma-separated) and argv.
 * A token on the command line is readable by every local user in /proc/PID/cmdline: still accepted, with a warning.
 */
export function adminTokensFrom(f: Pick<ServeFlags, 'adminToken' | 'adminTokenFile'>, env: NodeJS.ProcessEnv, warn: (m: string) => void): string[] {
  const fromFiles = f.adminTokenFile.flatMap((p) => readText(p, 'admin token file').split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
  const fromEnv = (env.CONFKUBE_ADMIN_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  if (f.adminToken.length > 0) warn('--admin-token puts the token in the process list (/proc/PID/cmdline); prefer --admin-token-file or CONFKUBE_ADMIN_TOKENS');
  const tokens = [...fromFiles, ...fromEnv, ...f.adminToken];
  for (const t of tokens) {
    if (t.length < MIN_ADMIN_TOKEN_LENGTH) throw new UsageError(`admin token of ${t.length} characters: at least ${MIN_ADMIN_TOKEN_LENGTH} required (e.g. openssl rand -base64 32)`);
  }
  return tokens;
}

/** Dashboard viewer tokens (read-only, docs/dashboard.md §Roles): files, one per line, and `CONFKUBE_VIEWER_TOKENS`. */
export function viewerTokensFrom(files: string[], env: NodeJS.ProcessEnv): string[] {
  const tokens = [
    ...files.flatMap((p) => readText(p, 'viewer token file').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)),
    ...(env.CONFKUBE_VIEWER_TOKENS ?? '').split(',').map((t) => t.trim()).filter(Boolean),
  ];
  for (const t of tokens) {
    if (t.length < MIN_ADMIN_TOKEN_LENGTH) throw new UsageError(`viewer token of ${t.length} characters: at least ${MIN_ADMIN_TOKEN_LENGTH} required (e.g. openssl rand -base64 32)`);
  }
  return tokens;
}

const warnLine = (m: string): void => { process.stderr.write(`confkube: WARNING: ${m}\n`); };

/** `--store` has no default: a production service never shares the demo's ./.confkube store unless told to. */
export function requireStore(store: string | undefined): string {
  if (store === undefined || store.trim() === '') {
    throw new UsageError('--store is required (or CONFKUBE_STORE): sqlite:/var/lib/confkube/confkube.db or postgres://user@host/db. `confkube demo` keeps its own store in its data folder; serve does not use it unless given that path');
  }
  return store;
}

/** The KEK that seals signing keys: --kek-file / CONFKUBE_KEK_FILE, or CONFKUBE_KEK; none is a usage error. */
export async function keyProtectorFromFlags(kekFile: string | undefined): Promise<import('../../store/index.js').KeyProtector> {
  const { keyProtectorFrom, KeyProtectionError } = await import('../../store/index.js');
  const value = process.env.CONFKUBE_KEK === '' ? undefined : process.env.CONFKUBE_KEK;
  try {
    return keyProtectorFrom({ file: kekFile === '' ? undefined : kekFile, value }, warnLine);
  } catch (e) {
    if (e instanceof KeyProtectionError) throw new UsageError(e.message);
    throw e;
  }
}

/** `https://127.0.0.1:8443` for the address the server really bound (port 0 → the port chosen). */
function listenAddress(address: ReturnType<import('node:net').Server['address']>, scheme: string): string {
  if (address === null || typeof address === 'string') return String(address);
  return `${scheme}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
}

/** Start the service from flags; resolves once it listens. */
export async function startFromFlags(f: ServeFlags): Promise<{ url: string; listening: string; close(): Promise<void> }> {
  const { createAttestationService } = await import('../../attestation/index.js');
  const { openServiceStore, loadPolicyEngine, simulatedPlatformIn } = await import('../service-runtime.js');
  const { host, port } = parseListen(f.listen);
  const tls = f.tlsKey && f.tlsCert ? { key: readText(f.tlsKey, 'TLS key'), cert: readText(f.tlsCert, 'TLS certificate') } : undefined;
  if ((f.tlsKey === undefined) !== (f.tlsCert === undefined)) throw new UsageError('--tls-key and --tls-cert go together');
  const baseUrl = f.baseUrl ?? `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (!f.collateral && !f.pccsUrl && !f.simulation) throw new UsageError('no collateral source: give --collateral DIR or --pccs-url URL (or --simulation DIR for local use)');
  let simulated;
  let simPcs;
  if (f.simulation) {
    const { platform: p } = await simulatedPlatformIn(f.simulation);
    simulated = { rootCertDer: p.rootCertDer, files: p.collateralFiles() };
    simPcs = (await import('../../sim/index.js')).simulatedPcs(p);
  }
  const pccs = await pccsFromFlags(f, simPcs);
  let verifyAt: (() => number) | undefined;
  if (f.verifyAt) {
    const t = Date.parse(f.verifyAt);
    if (Number.isNaN(t)) throw new UsageError(`--verify-at: not an ISO time: ${f.verifyAt}`);
    verifyAt = () => t;
  }
  // The one logger of every confkube service (src/lib/log.ts): JSON lines on stderr.
  const log = createLogger({ base: { service: 'attestation' } });
  if (!tls) log.warn(`no --tls-key/--tls-cert: serving plain HTTP on ${baseUrl} (only behind a TLS-terminating proxy; the Azure SDKs require HTTPS)`);
  const storeUrl = requireStore(f.store);
  const keyProtector = await keyProtectorFromFlags(f.kekFile);
  const sqlitePath = /^sqlite:(.+)$/.exec(storeUrl)?.[1] ?? (/^[a-z]+:\/\//i.test(storeUrl) ? null : storeUrl);
  // A folder created here is the owner's alone (the store's files are 0600 inside it).
  if (sqlitePath) mkdirSync(dirname(resolve(sqlitePath)), { recursive: true, mode: 0o700 });
  const { parseReleasePolicy } = await import('../../keyrelease/index.js');
  const releasableKeys = f.releaseKey.map((spec) => {
    const m = /^([A-Za-z0-9_-]{1,127})=([^:]+):(.+)$/.exec(spec);
    if (!m) throw new UsageError(`--release-key: expected NAME=SECRET_FILE:POLICY_FILE, got ${JSON.stringify(spec)}`);
    let policy: unknown;
    try {
      policy = JSON.parse(readText(m[3], 'release policy'));
      parseReleasePolicy(policy);
    } catch (e) {
      throw new UsageError(`--release-key ${m[1]}: ${(e as Error).message}`);
    }
    return { name: m[1], secret: readInputFile(m[2], 'secret'), policy };
  });
  const { parseTokenKeys } = await import('../../keyrelease/index.js');
  const trustedIssuers = f.trustedIssuer.map((spec) => {
    const m = /^(https?:\/\/[^=\s]+)=(.+)$/.exec(spec);
    if (!m) throw new UsageError(`--trusted-issuer: expected ISSUER_URL=JWKS_FILE, got ${JSON.stringify(spec)}`);
    try {
      return { issuer: m[1], jwks: parseTokenKeys(JSON.parse(readText(m[2], 'JWK Set')), `--trusted-issuer ${m[1]}`) };
    } catch (e) {
      throw new UsageError(`--trusted-issuer ${m[1]}: ${(e as Error).message}`);
    }
  });
  const adminTokens = adminTokensFrom(f, process.env, (m) => process.stderr.write(`confkube: WARNING: ${m}\n`));
  const viewerTokens = viewerTokensFrom(f.viewerTokenFile, process.env);
  let cluster: import('../../web/index.js').ClusterSource | undefined;
  let gatherer: import('../../autoscale/gather.js').Gatherer | undefined;
  if (f.dashboardAgents && !f.dashboardCluster) throw new UsageError('--dashboard-agents needs --dashboard-cluster');
  if (f.dashboardCluster) {
    const { loadKubeConfig } = await import('../../kube/index.js');
    const { KubeClusterSource } = await import('../../web/index.js');
    const kc = loadKubeConfig(f.dashboardCluster === 'in-cluster' ? undefined : f.dashboardCluster);
    const source = new KubeClusterSource(kc);
    cluster = source;
    if (f.dashboardAgents) {
      // EPC in use per node, read from the node agents as the autoscaler reads them (docs/autoscale.md §Gathering).
      const m = /^([a-z0-9-]+)\/(.+):(\d{1,5})$/.exec(f.dashboardAgents);
      if (!m) throw new UsageError(`--dashboard-agents: expected NAMESPACE/SELECTOR:PORT, got ${JSON.stringify(f.dashboardAgents)}`);
      const [, namespace, selector, port] = m as unknown as [string, string, string, string];
      const { Gatherer } = await import('../../autoscale/gather.js');
      const { agentPodTargets } = await import('../../autoscale/kube-config.js');
      const g = new Gatherer({ targets: () => agentPodTargets(kc, namespace, selector, Number(port)), intervalMs: 30_000, maxAgeMs: 120_000 });
      g.start();
      gatherer = g;
      cluster = { nodesAndPods: () => source.nodesAndPods(), usedByNode: () => g.usedByNode() };
    }
  }
  const { redactUrl } = await import('../../store/index.js');
  const store = await openServiceStore(storeUrl, { warn: warnLine });
  const svc = await createAttestationService({
    baseUrl, store, engine: await loadPolicyEngine(), keyProtector, storeName: redactUrl(storeUrl),
    collateral: { ...(f.collateral ? { directory: f.collateral } : {}), ...(f.pccsUrl ? { upstream: f.pccsUrl } : {}), ...(simulated ? { simulated } : {}) },
    ...(tls ? { tls } : {}),
    ...(verifyAt ? { verifyAt } : {}),
    adminTokens,
    viewerTokens,
    ...(cluster ? { dashboard: { cluster } } : {}),
    policySigners: f.policySigner.map((p) => readText(p, 'policy signer certificate')),
    ...(f.requireBoundSignatures ? { requireBoundSignatures: true } : {}),
    ...(f.bodyLimit ? { bodyLimit: Number(f.bodyLimit) } : {}),
    releasableKeys,
    pccs,
    trustedIssuers,
    defaultMetrics: true,
    warn: (m: string) => log.warn(m),
  });
  // The simulated platform registers as its quote provider library would (docs/pccs.md §Simulation).
  if (simPcs) await svc.pck.register(simPcs.registration);
  try {
    await svc.app.listen({ host, port });
  } catch (e) {
    gatherer?.stop();
    await svc.close();
    await store.close();
    throw new UsageError(`cannot listen on ${f.listen}: ${(e as Error).message}`);
  }
  return {
    url: baseUrl,
    listening: listenAddress(svc.app.server.address(), tls ? 'https' : 'http'),
    async close() {
      gatherer?.stop();
      await svc.close();
      await store.close();
    },
  };
}

/**
 * The PCK routes' mode and upstream (docs/pccs.md §Caching modes): `--pcs-url` (default `--pccs-url`), the API key
 * from `--pcs-api-key-file` or CONFKUBE_PCS_API_KEY (never argv: the process list is readable by every local user).
 */
async function pccsFromFlags(f: ServeFlags, simulated: import('../../attestation/service.js').PccsOptions['simulated']): Promise<import('../../attestation/service.js').PccsOptions> {
  const { PCCS_MODES } = await import('../../pccs/pck-service.js');
  const mode = f.pccsMode?.toUpperCase();
  if (mode !== undefined && !(PCCS_MODES as readonly string[]).includes(mode)) throw new UsageError(`--pccs-mode: expected LAZY, REQ or OFFLINE, got ${JSON.stringify(f.pccsMode)}`);
  const upstream = f.pcsUrl ?? f.pccsUrl;
  const apiKey = f.pcsApiKeyFile ? readText(f.pcsApiKeyFile, 'PCS API key file').trim() : process.env.CONFKUBE_PCS_API_KEY || undefined;
  if (mode && mode !== 'OFFLINE' && !upstream && !simulated) throw new UsageError(`--pccs-mode ${mode} needs --pcs-url (Intel PCS: https://api.trustedservices.intel.com)`);
  return {
    ...(mode ? { mode: mode as import('../../pccs/pck-service.js').PccsMode } : {}),
    ...(upstream && mode !== 'OFFLINE' ? { upstream } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(simulated ? { simulated } : {}),
  };
}

function onSignals(close: () => Promise<void>): void {
  const stop = (): void => {
    close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** POST the quote to /attest/{type} and print the verdict; exit 1 when the service refuses. */
async function attestCommand(quotePath: string, o: { url: string; runtimeData?: string; runtimeJson?: string; ca?: string; type: string; apiVersion: string; nonce?: string; json?: boolean }): Promise<void> {
  const quote = decodeBinaryInput(readInputFile(quotePath, 'quote'));
  let url: URL;
  try {
    url = new URL(`${o.url.replace(/\/+$/, '')}/attest/${o.type}?api-version=${encodeURIComponent(o.apiVersion)}`);
  } catch {
    throw new UsageError(`--url: not a URL: ${o.url}`);
  }
  const body: Record<string, unknown> = { [o.type === 'OpenEnclave' ? 'report' : 'quote']: Buffer.from(quote).toString('base64url') };
  if (o.runtimeData && o.runtimeJson) throw new UsageError('--runtime-data and --runtime-json are exclusive');
  const rd = o.runtimeData ?? o.runtimeJson;
  if (rd) {
    const bytes = /^[0-9a-fA-F]+$/.test(rd) && rd.length % 2 === 0 ? Buffer.from(rd, 'hex') : Buffer.from(readInputFile(rd, 'runtime data'));
    body.runtimeData = { data: bytes.toString('base64url'), dataType: o.runtimeJson ? 'JSON' : 'Binary' };
  }
  if (o.nonce) body.nonce = o.nonce;
  const payload = JSON.stringify(body);
  const ca = o.ca ? readFileSync(o.ca) : undefined;
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, ...(ca ? { ca } : {}),
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (e) => reject(new UsageError(`cannot reach ${url.origin}: ${e.message}`)));
    req.end(payload);
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    throw new UsageError(`${url.origin} answered HTTP ${res.status} with a body that is not JSON`);
  }
  if (res.status !== 200) {
    const err = parsed.error as { code?: string; message?: string } | undefined;
    if (o.json) printJson({ ok: false, status: res.status, error: err ?? parsed });
    else process.stderr.write(`confkube: attestation refused (HTTP ${res.status} ${err?.code ?? ''}): ${err?.message ?? res.text}\n`);
    process.exitCode = EXIT_REJECTED;
    return;
  }
  const token = String(parsed.token);
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  if (o.json) {
    printJson({ ok: true, token, header, claims });
    return;
  }
  const show = ['x-ms-sgx-mrenclave', 'x-ms-sgx-mrsigner', 'x-ms-sgx-product-id', 'x-ms-sgx-svn', 'x-ms-sgx-is-debuggable', 'x-ms-sgx-tcb-status', 'x-ms-sgx-advisory-ids', 'x-ms-sgx-is-simulated', 'x-ms-policy-hash', 'iss', 'jti'];
  process.stdout.write(`attested: token signed ${header.alg} by kid ${header.kid}\n`);
  for (const k of show) if (claims[k] !== undefined) process.stdout.write(`  ${k.padEnd(24)} ${JSON.stringify(claims[k])}\n`);
  process.stdout.write(`token (expires ${new Date(claims.exp * 1000).toISOString()}):\n${token}\n`);
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the attestation service (Azure Attestation API) for production: PostgreSQL or SQLite, TLS, collateral source, admin tokens')
    .option('--listen <host:port>', 'address to listen on', process.env.CONFKUBE_LISTEN ?? '127.0.0.1:8443')
    .option('--base-url <url>', 'canonical public base URL: token iss, jku, signing certificate CN (default https://<listen>)', process.env.CONFKUBE_BASE_URL)
    .option('--store <url>', 'sqlite:/path/file.db or postgres://… (required; env CONFKUBE_STORE)', process.env.CONFKUBE_STORE)
    .option('--kek-file <file>', 'key-encryption key that seals the signing keys in the store (required, or env CONFKUBE_KEK_FILE / CONFKUBE_KEK); `openssl rand -base64 32`', process.env.CONFKUBE_KEK_FILE)
    .option('--tls-key <file>', 'TLS private key (PEM)', process.env.CONFKUBE_TLS_KEY)
    .option('--tls-cert <file>', 'TLS certificate chain (PEM)', process.env.CONFKUBE_TLS_CERT)
    .option('--collateral <dir>', 'offline collateral directory (PCS bodies, certificates, CRLs)', process.env.CONFKUBE_COLLATERAL)
    .option('--pccs-url <url>', 'upstream Intel PCS/PCCS v4 base URL, e.g. https://api.trustedservices.intel.com', process.env.CONFKUBE_PCCS_URL)
    .option('--pccs-mode <mode>', 'PCK certificates for quote generation: LAZY (fetch on a miss), REQ (fetch at registration), OFFLINE (imported only); default LAZY with an upstream, else OFFLINE (docs/pccs.md)', process.env.CONFKUBE_PCCS_MODE)
    .option('--pcs-url <url>', 'Intel PCS v4 base URL for PCK certificates (default --pccs-url), e.g. https://api.trustedservices.intel.com', process.env.CONFKUBE_PCS_URL)
    .option('--pcs-api-key-file <file>', 'file holding the Intel PCS API key (Ocp-Apim-Subscription-Key); or env CONFKUBE_PCS_API_KEY', process.env.CONFKUBE_PCS_API_KEY_FILE)
    .option('--admin-token-file <file>', 'file of bearer tokens allowed to manage policies, one per line, 32+ characters (repeatable; also env CONFKUBE_ADMIN_TOKENS, comma-separated)', collect, [])
    .option('--admin-token <token>', 'a bearer token on the command line (visible in the process list: prefer --admin-token-file)', collect, [])
    .option('--viewer-token-file <file>', 'file of tokens that log in to the dashboard (/ui) read-only, one per line, 32+ characters (repeatable; also env CONFKUBE_VIEWER_TOKENS, comma-separated)', collect, [])
    .option('--dashboard-cluster <kubeconfig>', 'show nodes, pools and Pending pods on the dashboard from this cluster (a kubeconfig file, or in-cluster)', process.env.CONFKUBE_DASHBOARD_CLUSTER)
    .option('--dashboard-agents <ns/selector:port>', 'with --dashboard-cluster: read EPC in use from the node agents\' metrics, e.g. confkube-system/app.kubernetes.io/component=node-agent:9464', process.env.CONFKUBE_DASHBOARD_AGENTS)
    .option('--policy-signer <pem>', 'isolated mode: a policy-management certificate (repeatable)', collect, [])
    .option('--require-bound-signatures', 'isolated mode: refuse signed bodies without x-confkube-op, x-confkube-attestation-type and iat (the Azure admin client cannot send them)')
    .option('--simulation <dir>', 'trust the simulated SGX platform kept in DIR, created if absent (development only; off by default)')
    .option('--verify-at <iso>', 'verify quotes and collateral at this time instead of now (offline replay)')
    .option('--body-limit <bytes>', 'largest request body')
    .option('--release-key <name=secret:policy>', 'secure key release: the secret in SECRET_FILE goes only to enclaves whose token satisfies the SKR policy in POLICY_FILE (repeatable)', collect, [])
    .option('--trusted-issuer <url=jwks>', 'key release also accepts tokens of the attestation service at URL, verified with the JWK Set in JWKS (repeatable)', collect, [])
    .action(async (opts: ServeFlags) => {
      const s = await startFromFlags(opts);
      // The address bound and the public base URL differ behind a proxy or a Service: both are said, apart.
      process.stdout.write(`confkube attestation service listening on ${s.listening}; base URL (token iss, jku) ${s.url}\n`);
      onSignals(s.close);
      await new Promise(() => undefined);
    });

  program
    .command('rotate-signing-key')
    .description('add a new token signing key for every replica sharing the store: published now, signing after --activate-after; the keys it replaces retire then and leave /certs once their tokens expired (8 h + 5 min)')
    .requiredOption('--base-url <url>', 'the canonical base URL (the new certificate\'s CN)', process.env.CONFKUBE_BASE_URL)
    .option('--store <url>', 'sqlite:/path/file.db or postgres://… (required; env CONFKUBE_STORE)', process.env.CONFKUBE_STORE)
    .option('--kek-file <file>', 'key-encryption key of the store (or env CONFKUBE_KEK_FILE / CONFKUBE_KEK)', process.env.CONFKUBE_KEK_FILE)
    .option('--activate-after <seconds>', 'publish the new key this long before it signs (at least 10 s, every replica\'s reload period)', '20')
    .option('--json', 'print the new kid and the key schedule as JSON')
    .action(async (o: { baseUrl: string; store?: string; kekFile?: string; activateAfter: string; json?: boolean }) => {
      const { Keyring, normaliseBaseUrl } = await import('../../attestation/index.js');
      const { openServiceStore } = await import('../service-runtime.js');
      const activateAfter = parseIntFlag(o.activateAfter, '--activate-after', 86_400);
      if (activateAfter < 10) throw new UsageError('--activate-after: at least 10 s, so every replica publishes the key before it signs');
      const storeUrl = requireStore(o.store);
      const protector = await keyProtectorFromFlags(o.kekFile);
      const store = await openServiceStore(storeUrl, { warn: warnLine });
      try {
        await store.migrate();
        const ring = new Keyring(store, normaliseBaseUrl(o.baseUrl), Date.now, { protector, log: warnLine });
        await ring.init();
        const rec = await ring.rotate(activateAfter * 1000);
        const schedule = ring.schedule().map((k) => ({ ...k, activeFrom: new Date(k.activeFrom).toISOString(), retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(), unpublishAt: k.unpublishAt === null ? null : new Date(k.unpublishAt).toISOString() }));
        if (o.json) printJson({ kid: rec.kid, published: ring.jwks().keys.map((k) => k.kid), schedule });
        else {
          process.stdout.write(`new signing key ${rec.kid}: published now, signs from ${new Date(rec.activeFrom).toISOString()}\n`);
          for (const k of schedule) process.stdout.write(`  ${k.kid}  ${k.state.padEnd(8)} from ${k.activeFrom}${k.retiredAt ? `  retires ${k.retiredAt}  leaves /certs ${k.unpublishAt}` : ''}\n`);
        }
      } finally {
        await store.close();
      }
    });

  program
    .command('attest')
    .argument('<quote>', 'SGX quote file (raw, hex or base64)')
    .description('attest a quote with an Azure Attestation compatible service and print the token claims')
    .requiredOption('--url <url>', 'service base URL')
    .option('--runtime-data <hex|file>', 'runtime data bound to the quote (SHA-256 in report data), Binary')
    .option('--runtime-json <hex|file>', 'runtime data as JSON (x-ms-runtime)')
    .option('--ca <cert>', 'trust this CA certificate (PEM) for the service TLS')
    .option('--type <type>', 'SgxEnclave or OpenEnclave', 'SgxEnclave')
    .option('--api-version <v>', 'api-version', '2022-08-01')
    .option('--nonce <s>', 'nonce echoed in the token')
    .option('--json', 'print {ok, token, header, claims} as JSON')
    .action(attestCommand);
}
