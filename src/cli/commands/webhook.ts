import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT_REJECTED, UsageError, parseIntFlag, printJson, readInputFile } from '../util.js';

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
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
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
async function reviewFile(path: string, o: { trustedMrSigners: string[]; sgxToleration: ReturnType<typeof parseTaint> | null; json: boolean }): Promise<void> {
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
  const options = { trustedMrSigners: o.trustedMrSigners, sgxToleration: o.sgxToleration };
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
    .description('run the SGX admission webhook (AdmissionReview v1 over HTTPS: POST /mutate, /validate; GET /healthz)')
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
    .action(async (o: WebhookFlags) => {
      for (const s of o.trustedMrsigner) if (!/^[0-9a-f]{64}$/.test(s)) throw new UsageError(`--trusted-mrsigner: expected 64 hex digits, got ${JSON.stringify(s)}`);
      const sgxToleration = o.sgxTaint ? parseTaint(o.sgxTaint) : null;
      if (o.review !== undefined) {
        await reviewFile(o.review, { trustedMrSigners: o.trustedMrsigner, sgxToleration, json: o.json === true });
        return;
      }
      if (!o.tlsCert || !o.tlsKey) throw new UsageError('--tls-cert and --tls-key are required to serve (or --review <file> to admit one manifest)');
      const port = parseIntFlag(o.port, '--port', 65535);
      const tls = { cert: readPem(o.tlsCert, 'TLS certificate'), key: readPem(o.tlsKey, 'TLS key') };
      const { createWebhookServer, KubeCluster } = await import('../../admission/index.js');
      let cluster = null;
      if (o.kube) {
        const { loadKubeConfig } = await import('../../kube/client.js');
        try {
          cluster = new KubeCluster(loadKubeConfig(o.kubeconfig));
        } catch (e) {
          throw new UsageError(`kubeconfig: ${(e as Error).message} (use --no-kube to run without the cluster)`);
        }
      }
      const app = createWebhookServer({ tls, cluster, trustedMrSigners: o.trustedMrsigner, sgxToleration });
      await app.listen({ port, host: o.address });
      process.stderr.write(`${JSON.stringify({ level: 'info', msg: 'confkube webhook listening', port, cluster: cluster !== null, trustedMrSigners: o.trustedMrsigner.length })}\n`);
      const stop = () => void app.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
