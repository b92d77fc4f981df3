import { createServer } from 'node:http';
import type { Command } from 'commander';
import type { AttestationInjection } from '../../admission/attestation-env.js';
import { LABEL_SGX } from '../../kube/names.js';
import { createLogger, isLogLevel } from '../../lib/log.js';
import { EXIT_REJECTED, UsageError, parseDuration, parseIntFlag, parseListenAddress, printJson, readInputFile } from '../util.js';

interface WebhookFlags {
  tlsCert?: string;
  tlsKey?: string;
  review?: string;
  json?: boolean;
  port: string;
  address: string;
  kubeconfig?: string;
  noKube?: boolean;
  kube: boolean;
  trustedMrsigner: string[];
  sgxTaint?: string;
  metricsAddress: string;
  nodeLabelSelector: string;
  tlsPoll: string;
  logLevel: string;
  workloadMutation: string;
  attestationUrl?: string;
  attestationNamespace: string[];
  attestationCaConfigmap: string;
  attestationCaFile?: string;
}

/** `--attestation-*`: the URL and CA enclave apps get (docs/enclave-pods.md §Finding the service), or null when off. */
export function attestationInjection(o: Pick<WebhookFlags, 'attestationUrl' | 'attestationNamespace' | 'attestationCaConfigmap' | 'attestationCaFile'>): AttestationInjection | null {
  if (o.attestationUrl === undefined) {
    if (o.attestationNamespace.length > 0 || o.attestationCaFile !== undefined) throw new UsageError('--attestation-namespace and --attestation-ca-file need --attestation-url');
    return null;
  }
  let url: URL;
  try {
    url = new URL(o.attestationUrl);
  } catch {
    throw new UsageError(`--attestation-url: not a URL: ${JSON.stringify(o.attestationUrl)}`);
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--attestation-url: expected an https:// base URL without credentials, query or fragment, got ${JSON.stringify(o.attestationUrl)}`);
  }
  if (o.attestationNamespace.length === 0) throw new UsageError('--attestation-url needs --attestation-namespace (repeatable; "*" for every namespace where the CA ConfigMap exists)');
  for (const ns of o.attestationNamespace) {
    if (ns !== '*' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns)) throw new UsageError(`--attestation-namespace: not a namespace name: ${JSON.stringify(ns)}`);
  }
  if (o.attestationCaFile !== undefined && o.attestationNamespace.includes('*')) throw new UsageError('--attestation-ca-file publishes the CA into listed namespaces: "*" cannot be one');
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(o.attestationCaConfigmap)) throw new UsageError(`--attestation-ca-configmap: not a ConfigMap name: ${JSON.stringify(o.attestationCaConfigmap)}`);
  return { url: o.attestationUrl.replace(/\/+$/, ''), configMap: o.attestationCaConfigmap, namespaces: [...new Set(o.attestationNamespace)] };
}

/** `key[=value][:effect]`, as `kubectl taint` writes it. */
export function parseTaint(s: string): { key: string; operator: 'Exists' | 'Equal'; value?: string; effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' } {
  const m = /^([A-Za-z0-9./_-]+)(?:=([A-Za-z0-9._-]*))?(?::(NoSchedule|PreferNoSchedule|NoExecute))?$/.exec(s);
  if (!m) throw new UsageError(`--sgx-taint: expected key[=value][:effect], got ${JSON.stringify(s)}`);
  return { key: m[1], operator: m[2] !== undefined ? 'Equal' : 'Exists', ...(m[2] !== undefined ? { value: m[2] } : {}), ...(m[3] ? { effect: m[3] as 'NoSchedule' } : {}) };
}

/**
 * `--review`: the webhook's answer for one manifest, offline (no cluster: no EPC-size or namespace checks). The
 * manifest may be an AdmissionReview as the API server sends it, or the object itself (first YAML document).
 */
async function reviewFile(path: string, o: { trustedMrSigners: string[]; sgxToleration: ReturnType<typeof parseTaint> | null; attestation: AttestationInjection | null; json: boolean }): Promise<void> {
  const text = Buffer.from(readInputFile(path, 'manifest')).toString('utf8');
  const { loadAllYaml } = await import('@kubernetes/client-node');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      doc = loadAllYaml(text)[0];
    } catch (e) {
      throw new UsageError(`${path}: neither JSON nor YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`${path}: expected a Kubernetes object or an AdmissionReview`);
  // YAML numbers (the AKS FAQ's `sgx_epc_mem_in_MiB: 10`) reach the webhook as the API server's quantity strings.
  const object = JSON.parse(JSON.stringify(doc), (k, v) => (typeof v === 'number' && k.includes('/') ? String(v) : v)) as Record<string, unknown>;
  const body =
    object.kind === 'AdmissionReview'
      ? object
      : { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'confkube-review', operation: 'CREATE', kind: { kind: object.kind }, namespace: (object.metadata as { namespace?: string } | undefined)?.namespace ?? 'default', object } };
  const { reviewRequest, ReviewError } = await import('../../admission/index.js');
  const options = { trustedMrSigners: o.trustedMrSigners, sgxToleration: o.sgxToleration, attestation: o.attestation };
  let mutated, validated;
  try {
    mutated = await reviewRequest(body, 'mutate', options);
  } catch (e) {
    if (e instanceof ReviewError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
  const { applyJsonPatch } = await import('../../admission/index.js');
  const ops = mutated.response.patch ? (JSON.parse(Buffer.from(mutated.response.patch, 'base64').toString('utf8')) as { op: string; path: string; value?: unknown }[]) : [];
  const request = (body as { request: { object?: unknown } }).request;
  const after = ops.length > 0 ? applyJsonPatch(request.object, ops) : request.object;
  if (mutated.response.allowed) {
    validated = await reviewRequest({ ...body, request: { ...request, object: after } }, 'validate', options);
  }
  const allowed = mutated.response.allowed && validated?.response.allowed === true;
  const refusal = mutated.response.status?.message ?? validated?.response.status?.message;
  const warnings = mutated.response.warnings ?? [];
  if (o.json) {
    printJson({ allowed, ...(refusal ? { message: refusal } : {}), warnings, patch: ops, object: after });
  } else {
    process.stdout.write(`${allowed ? 'allowed' : 'refused'}${refusal ? `: ${refusal}` : ''}\n`);
    for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
    for (const op of ops) process.stdout.write(`${op.op} ${op.path}${op.value !== undefined ? ` ${JSON.stringify(op.value)}` : ''}\n`);
    if (allowed && ops.length === 0) process.stdout.write('no change\n');
  }
  if (!allowed) process.exitCode = EXIT_REJECTED;
}

export function register(program: Command): void {
  program
    .command('webhook')
    .description('run the SGX admission webhook (AdmissionReview v1 over HTTPS: POST /mutate, /validate; GET /healthz, /readyz; /metrics on --metrics-address)')
    .option('--tls-cert <file>', 'PEM certificate valid for <service>.<namespace>.svc (required to serve)', process.env.CONFKUBE_WEBHOOK_TLS_CERT)
    .option('--tls-key <file>', 'PEM private key (required to serve)', process.env.CONFKUBE_WEBHOOK_TLS_KEY)
    .option('--review <file>', 'do not serve: admit one manifest (Pod or workload, YAML or JSON) or AdmissionReview, print the decision and the patched object; exit 1 if refused')
    .option('--json', 'with --review: print the decision as JSON')
    .option('--port <n>', 'HTTPS port', process.env.CONFKUBE_WEBHOOK_PORT ?? '8443')
    .option('--address <ip>', 'listen address', '0.0.0.0')
    .option('--kubeconfig <file>', 'kubeconfig for node capacity, namespaces and ConfigMaps (default: in-cluster, then ~/.kube/config)')
    .option('--no-kube', 'do not read the cluster: no EPC-size check, no namespace signer lists, no SIGSTRUCT ConfigMaps')
    .option('--trusted-mrsigner <hex>', 'a cluster-wide trusted MRSIGNER (repeatable)', (v: string, acc: string[]) => [...acc, v.toLowerCase()], [] as string[])
    .option('--sgx-taint <key[=value][:effect]>', 'the taint of the SGX node pool: SGX pods get a matching toleration')
    .option('--metrics-address <host:port>', 'plain-HTTP listener for /metrics, or "off"', process.env.CONFKUBE_METRICS_ADDRESS ?? '0.0.0.0:9465')
    .option('--node-label-selector <selector>', 'nodes the node informer watches for the largest EPC ("" for every node)', `${LABEL_SGX}=true`)
    .option('--tls-poll <duration>', 're-read the TLS files this often besides watching their directory ("0" turns polling off)', '10s')
    .option('--workload-mutation <mode>', 'rewrite: patch workload templates like pods; pods: check workloads but store them as written and patch only their Pods (no GitOps drift)', 'rewrite')
    .option('--attestation-url <url>', 'give enclave containers of SGX pods CONFKUBE_ATTESTATION_URL=<url> and CONFKUBE_ATTESTATION_CA with the CA mounted from a ConfigMap (off when not given)')
    .option('--attestation-namespace <ns>', 'a namespace whose SGX pods get the attestation variables (repeatable; "*" for all, when the CA ConfigMap is distributed by other means)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--attestation-ca-configmap <name>', 'the ConfigMap (key ca.crt) mounted at /var/run/confkube/attestation-ca', 'confkube-attestation-ca')
    .option('--attestation-ca-file <file>', 'keep that ConfigMap in each --attestation-namespace filled with this PEM CA (re-read every minute)')
    .option('--log-level <level>', 'debug (also every ordinary object\'s decision), info, warn or error', 'info')
    .action(async (o: WebhookFlags) => {
      for (const s of o.trustedMrsigner) if (!/^[0-9a-f]{64}$/.test(s)) throw new UsageError(`--trusted-mrsigner: expected 64 hex digits, got ${JSON.stringify(s)}`);
      const sgxToleration = o.sgxTaint ? parseTaint(o.sgxTaint) : null;
      if (o.workloadMutation !== 'rewrite' && o.workloadMutation !== 'pods') throw new UsageError(`--workload-mutation: expected rewrite or pods, got ${JSON.stringify(o.workloadMutation)}`);
      const workloadMutation = o.workloadMutation;
      const attestation = attestationInjection(o);
      if (o.review !== undefined) {
        await reviewFile(o.review, { trustedMrSigners: o.trustedMrsigner, sgxToleration, attestation, json: o.json === true });
        return;
      }
      if (!o.tlsCert || !o.tlsKey) throw new UsageError('--tls-cert and --tls-key are required to serve (or --review <file> to admit one manifest)');
      if (o.attestationCaFile !== undefined) {
        if (!o.kube) throw new UsageError('--attestation-ca-file writes ConfigMaps through the cluster: it cannot go with --no-kube');
        // A CA that cannot be read or parsed stops the start, rather than leaving apps without one.
        const { readCaBundle, WebhookConfigError } = await import('../../admission/index.js');
        try {
          readCaBundle(o.attestationCaFile);
        } catch (e) {
          if (e instanceof WebhookConfigError) throw new UsageError(`--attestation-ca-file: ${e.message}`);
          throw e;
        }
      }
      const port = parseIntFlag(o.port, '--port', 65535);
      const level = o.logLevel;
      if (!isLogLevel(level)) throw new UsageError(`--log-level: expected debug, info, warn or error, got ${JSON.stringify(level)}`);
      const metricsAt = parseListenAddress(o.metricsAddress, '--metrics-address');
      const pollMs = parseDuration(o.tlsPoll, '--tls-poll');
      const log = createLogger({ level, base: { service: 'webhook' } });
      const { CertWatcher, TlsFilesError } = await import('../../kube/index.js');
      let certWatcher;
      try {
        certWatcher = new CertWatcher({ certFile: o.tlsCert, keyFile: o.tlsKey, pollMs, logger: log });
      } catch (e) {
        if (e instanceof TlsFilesError) throw new UsageError(e.message);
        throw e;
      }
      const { createWebhookServer, CaConfigMapPublisher, KubeCluster, WebhookMetrics } = await import('../../admission/index.js');
      let cluster = null;
      let publisher = null;
      if (o.kube) {
        const { loadKubeConfig } = await import('../../kube/client.js');
        try {
          const kc = loadKubeConfig(o.kubeconfig);
          cluster = new KubeCluster(kc, { nodeLabelSelector: o.nodeLabelSelector, logger: log });
          if (attestation && o.attestationCaFile !== undefined) {
            publisher = new CaConfigMapPublisher({ kubeConfig: kc, caFile: o.attestationCaFile, configMap: attestation.configMap, namespaces: attestation.namespaces, logger: log });
          }
        } catch (e) {
          throw new UsageError(`kubeconfig: ${(e as Error).message} (use --no-kube to run without the cluster)`);
        }
      }
      const metrics = new WebhookMetrics(true);
      const app = createWebhookServer({ certWatcher, cluster, trustedMrSigners: o.trustedMrsigner, sgxToleration, workloadMutation, attestation, metrics, log });
      await app.listen({ port, host: o.address });
      certWatcher.start();
      publisher?.start();
      // The node informer starts at once, so the first SGX pod finds the cache filled.
      void cluster?.start();
      const metricsServer = metricsAt ? createServer((req, res) => {
        if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        if (cluster) metrics.dependency.set({ dependency: cluster.health().name }, cluster.health().ok ? 1 : 0);
        metrics.registry.metrics().then((body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body), (e: Error) => res.writeHead(500).end(e.message));
      }) : null;
      if (metricsServer && metricsAt) await new Promise<void>((resolve, reject) => metricsServer.once('error', reject).listen(metricsAt.port, metricsAt.host, () => resolve()));
      log.info('confkube webhook listening', {
        port: (app.server.address() as { port: number }).port, metrics: metricsAt ? `${metricsAt.host}:${metricsAt.port}` : 'off', cluster: cluster !== null,
        trustedMrSigners: o.trustedMrsigner.length, fingerprint: certWatcher.current.fingerprint, attestation: attestation ? { url: attestation.url, namespaces: attestation.namespaces } : 'off',
      });
      const stop = (signal: string) => {
        log.info('signal received; stopping', { signal });
        certWatcher.stop();
        metricsServer?.close();
        // fastify answers the reviews in flight before it closes.
        void Promise.all([app.close(), cluster?.stop(), publisher?.stop()]).then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}
