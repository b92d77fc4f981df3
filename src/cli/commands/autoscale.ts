import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, parseIntFlag } from '../util.js';

interface AutoscaleFlags {
  tlsCert?: string;
  tlsKey?: string;
  address: string;
  port: string;
  kubeconfig?: string;
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames?: string;
  agentUrl: string[];
  agentNamespace: string;
  agentSelector?: string;
  agentPort: string;
  agentTokenFile?: string;
  interval: string;
  authorization: boolean;
  metricsAddress: string;
  pressureInterval: string;
  poolLabel: string[];
  kedaAddress: string;
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `name=url` or a bare URL (named by its host). */
export function parseAgentUrl(v: string): { name: string; url: string } {
  const eq = v.indexOf('=');
  const [name, url] = eq > 0 && !v.slice(0, eq).includes('/') ? [v.slice(0, eq), v.slice(eq + 1)] : [undefined, v];
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--agent-url: not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--agent-url: expected http(s), got ${u.protocol}`);
  return { name: name ?? u.host, url: u.toString() };
}

/** KEDA's external scaler on its own gRPC listener (TLS); returns the stop function. */
async function serveKeda(address: string, tls: { cert: string; key: string }, deps: import('../../autoscale/keda.js').KedaDeps): Promise<() => void> {
  if (!/^[^:]*:\d+$|^\[[^\]]+\]:\d+$/.test(address)) throw new UsageError(`--keda-address: expected host:port or "off", got ${JSON.stringify(address)}`);
  const grpc = await import('@grpc/grpc-js');
  const { addKedaService } = await import('../../autoscale/keda.js');
  const server = new grpc.Server();
  addKedaService(server, deps);
  const creds = grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }], false);
  await new Promise<void>((resolve, reject) => server.bindAsync(address, creds, (e) => (e ? reject(new UsageError(`--keda-address ${address}: ${e.message}`)) : resolve())));
  return () => server.forceShutdown();
}

/** The pool gauges on a plain HTTP /metrics, refreshed every interval; returns the stop function. */
async function servePressure(kc: import('@kubernetes/client-node').KubeConfig, address: string, seconds: number,
  gatherer: import('../../autoscale/gather.js').Gatherer, poolLabels: string[], log: (msg: string, extra?: Record<string, unknown>) => void): Promise<() => void> {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new UsageError(`--metrics-address: expected host:port or "off", got ${JSON.stringify(address)}`);
  const port = parseIntFlag(address.slice(i + 1), '--metrics-address port', 65535);
  if (seconds < 1) throw new UsageError('--pressure-interval: at least 1 second');
  const { createServer } = await import('node:http');
  const { PressureMetrics } = await import('../../autoscale/pressure-metrics.js');
  const { DEFAULT_POOL_LABELS } = await import('../../autoscale/pressure.js');
  const metrics = new PressureMetrics();
  const refresh = (): void => {
    metrics.refresh(kc, gatherer.usedByNode(), poolLabels.length ? poolLabels : DEFAULT_POOL_LABELS)
      .catch((e: Error) => log('EPC pressure refresh failed', { error: e.message }));
  };
  refresh();
  const timer = setInterval(refresh, seconds * 1000);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    metrics.registry.metrics().then((t) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(t));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address.slice(0, i).replace(/^\[|\]$/g, ''), resolve);
  });
  return () => {
    clearInterval(timer);
    server.close();
  };
}

/** Where the node agents are: fixed URLs, or their pods found by label (shared by autoscale and epc pressure). */
export function agentOptions(cmd: Command): Command {
  return cmd
    .option('--agent-url <[name=]url>', 'a node agent metrics URL, name = node (repeatable; instead of discovery)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--agent-namespace <ns>', 'namespace of the node agent pods', 'confkube-system')
    .option('--agent-selector <selector>', 'label selector of the node agent pods (discovery)', 'app.kubernetes.io/component=node-agent')
    .option('--agent-port <n>', 'the agents\' metrics port', '9464');
}

export function register(program: Command): void {
  const cmd = program
    .command('autoscale')
    .alias('metrics-adapter')
    .description('serve custom.metrics.k8s.io (v1beta2, v1beta1) with per-pod EPC from the node agents, as an aggregated API for the HPA')
    .option('--tls-cert <file>', 'PEM serving certificate for <service>.<namespace>.svc', process.env.CONFKUBE_AUTOSCALE_TLS_CERT)
    .option('--tls-key <file>', 'PEM private key', process.env.CONFKUBE_AUTOSCALE_TLS_KEY)
    .option('--address <ip>', 'listen address', '0.0.0.0')
    .option('--port <n>', 'HTTPS port', '6443')
    .option('--kubeconfig <file>', 'kubeconfig (default: in-cluster, then ~/.kube/config)')
    .option('--requestheader-client-ca-file <file>', 'front-proxy CA (default: kube-system/extension-apiserver-authentication)')
    .option('--requestheader-allowed-names <names>', 'comma-separated client certificate CNs (default: from the same ConfigMap)');
  agentOptions(cmd)
    .option('--agent-token-file <file>', 'bearer token sent to the agents (re-read every round)')
    .option('--interval <seconds>', 'seconds between gathering rounds', '15')
    .option('--metrics-address <host:port>', 'Prometheus /metrics (EPC pressure per pool), or "off"', 'off')
    .option('--pressure-interval <seconds>', 'seconds between pool pressure refreshes (two lists from the watch cache)', '60')
    .option('--pool-label <label>', 'node label naming the pool (repeatable; default agentpool, kubernetes.azure.com/agentpool)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--keda-address <host:port>', 'also serve KEDA\'s external scaler (gRPC over TLS with the serving certificate), or "off"', 'off')
    .option('--no-authorization', 'skip the SubjectAccessReview for the proxied user (tests only)')
    .action(async (o: AutoscaleFlags) => {
      if (!o.tlsCert || !o.tlsKey) throw new UsageError('--tls-cert and --tls-key are required');
      const port = parseIntFlag(o.port, '--port', 65535);
      const interval = parseIntFlag(o.interval, '--interval', 3600);
      const agentPort = parseIntFlag(o.agentPort, '--agent-port', 65535);
      if (interval < 1) throw new UsageError('--interval: at least 1 second');
      const staticTargets = o.agentUrl.map(parseAgentUrl);
      const { loadKubeConfig } = await import('../../kube/client.js');
      const { KubeClusterSource, subjectAccessReviewer } = await import('../../autoscale/kube-source.js');
      const { requestHeaderConfig, agentPodTargets } = await import('../../autoscale/kube-config.js');
      const { Gatherer } = await import('../../autoscale/gather.js');
      const { createMetricsServer } = await import('../../autoscale/server.js');
      const kc = loadKubeConfig(o.kubeconfig);
      const rh = await requestHeaderConfig(kc, {
        clientCa: o.requestheaderClientCaFile ? readFile(o.requestheaderClientCaFile, 'requestheader client CA') : undefined,
        allowedNames: o.requestheaderAllowedNames?.split(',').map((s) => s.trim()).filter(Boolean),
      });
      const log = (msg: string, extra: Record<string, unknown> = {}): void => {
        process.stderr.write(`${JSON.stringify({ level: 'info', msg, ...extra })}\n`);
      };
      const gatherer = new Gatherer({
        targets: staticTargets.length ? () => staticTargets : () => agentPodTargets(kc, o.agentNamespace, o.agentSelector ?? '', agentPort),
        intervalMs: interval * 1000,
        maxAgeMs: Math.max(4 * interval * 1000, 60_000),
        token: o.agentTokenFile ? () => readFile(o.agentTokenFile!, 'agent token').trim() : undefined,
        onError: (t, e) => log('agent metrics unreadable', { agent: t.name, error: e.message }),
      });
      gatherer.start();
      const server = createMetricsServer({
        tls: { cert: readFile(o.tlsCert, 'TLS certificate'), key: readFile(o.tlsKey, 'TLS key') },
        clientCa: rh.clientCa, allowedNames: rh.allowedNames, usernameHeaders: rh.usernameHeaders, groupHeaders: rh.groupHeaders,
        cluster: new KubeClusterSource(kc), samples: gatherer, windowSeconds: interval,
        authorize: o.authorization ? subjectAccessReviewer(kc) : undefined,
        log: (line) => log(line),
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, o.address, resolve);
      });
      log('confkube metrics adapter listening', { address: o.address, port, agents: staticTargets.length || `pods ${o.agentSelector}`, allowedNames: rh.allowedNames });
      const stopPressure = o.metricsAddress === 'off' ? () => undefined
        : await servePressure(kc, o.metricsAddress, parseIntFlag(o.pressureInterval, '--pressure-interval', 86_400), gatherer, o.poolLabel, log);
      const stopKeda = o.kedaAddress === 'off' ? () => undefined
        : await serveKeda(o.kedaAddress, { cert: readFile(o.tlsCert, 'TLS certificate'), key: readFile(o.tlsKey, 'TLS key') }, { cluster: new KubeClusterSource(kc), samples: gatherer, streamIntervalMs: interval * 1000 });
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          stopKeda();
          stopPressure();
          gatherer.stop();
          server.close(() => resolve());
          server.closeAllConnections();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
