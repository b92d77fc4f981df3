import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, parseIntFlag } from '../util.js';

interface WebhookFlags {
  tlsCert: string;
  tlsKey: string;
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

export function register(program: Command): void {
  program
    .command('webhook')
    .description('run the SGX admission webhook (AdmissionReview v1 over HTTPS: POST /mutate, /validate; GET /healthz)')
    .requiredOption('--tls-cert <file>', 'PEM certificate valid for <service>.<namespace>.svc', process.env.CONFKUBE_WEBHOOK_TLS_CERT)
    .requiredOption('--tls-key <file>', 'PEM private key', process.env.CONFKUBE_WEBHOOK_TLS_KEY)
    .option('--port <n>', 'HTTPS port', process.env.CONFKUBE_WEBHOOK_PORT ?? '8443')
    .option('--address <ip>', 'listen address', '0.0.0.0')
    .option('--kubeconfig <file>', 'kubeconfig for node capacity, namespaces and ConfigMaps (default: in-cluster, then ~/.kube/config)')
    .option('--no-kube', 'do not read the cluster: no EPC-size check, no namespace signer lists, no SIGSTRUCT ConfigMaps')
    .option('--trusted-mrsigner <hex>', 'a cluster-wide trusted MRSIGNER (repeatable)', (v: string, acc: string[]) => [...acc, v.toLowerCase()], [] as string[])
    .option('--sgx-taint <key[=value][:effect]>', 'the taint of the SGX node pool: SGX pods get a matching toleration')
    .action(async (o: WebhookFlags) => {
      for (const s of o.trustedMrsigner) if (!/^[0-9a-f]{64}$/.test(s)) throw new UsageError(`--trusted-mrsigner: expected 64 hex digits, got ${JSON.stringify(s)}`);
      const port = parseIntFlag(o.port, '--port', 65535);
      const tls = { cert: readPem(o.tlsCert, 'TLS certificate'), key: readPem(o.tlsKey, 'TLS key') };
      const sgxToleration = o.sgxTaint ? parseTaint(o.sgxTaint) : null;
      const { createWebhookServer, KubeCluster } = await import('../../admission/index.js');
      let cluster = null;
      if (o.kube) {
        const { loadKubeConfig } = await import('../../node/kube.js');
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
