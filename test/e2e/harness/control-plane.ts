// A real Kubernetes control plane for the end-to-end tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler built from Kubernetes' Go modules by scripts/build-k8s.sh, started on this machine with real TLS,
// service-account keys and Node,RBAC authorization, and torn down afterwards (docs/e2e.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certKubeconfig, makePki, type Pki } from './pki.js';
import { createPodNetwork, type PodNetwork } from './pod-network.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The folder of the cached binaries ($CONFKUBE_K8S_BIN overrides); a clear failure when they have not been built. */
export function controlPlaneBin(): string {
  if (process.env.CONFKUBE_K8S_BIN) return process.env.CONFKUBE_K8S_BIN;
  try {
    return execFileSync(join(ROOT, 'scripts/build-k8s.sh'), ['--print'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('the control-plane binaries are not built: run scripts/build-k8s.sh (npm run test:e2e does it first)');
  }
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  log: string;
}

export interface ControlPlane {
  dir: string;
  bin: string;
  pki: Pki;
  net: PodNetwork;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The same API server as seen from the pod network. */
  podServer: string;
  /** Admin (system:masters) kubeconfig file. */
  kubeconfig: string;
  /** Runs kubectl with the admin kubeconfig; returns stdout. */
  kubectl(args: string[], input?: string): string;
  /** kubectl that may fail: returns its status and output instead of throwing. */
  tryKubectl(args: string[], input?: string): { status: number; stdout: string; stderr: string };
  /** Starts a process whose output goes to a log file in the cluster folder and that stop() kills. */
  startProcess(name: string, cmd: string, args: string[], opts?: { inPodNetwork?: boolean; env?: NodeJS.ProcessEnv }): ChildProcess;
  logTail(name: string, lines?: number): string;
  stop(): Promise<void>;
}

function httpsGet(url: string, pki: Pki, path: string): Promise<{ status: number; body: string }> {
  const admin = pki.cert('admin');
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), {
      ca: readFileSync(pki.ca), cert: readFileSync(admin.cert), key: readFileSync(admin.key), timeout: 5000,
    }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns true; fails with `what` and the last error after `ms`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 60_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      if (await check()) return;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startControlPlane(): Promise<ControlPlane> {
  const bin = controlPlaneBin();
  const dir = mkdtempSync(join(tmpdir(), 'ck-e2e-'));
  const procs: Proc[] = [];
  const net = createPodNetwork();
  const pki = makePki(join(dir, 'pki'), [net.hostIp]);

  const startProcess: ControlPlane['startProcess'] = (name, cmd, args, opts = {}) => {
    const log = join(dir, `${name}.log`);
    const fd = openSync(log, 'a');
    const spawnOpts = { stdio: ['ignore', fd, fd] as ['ignore', number, number], env: { ...process.env, ...opts.env } };
    const child = opts.inPodNetwork ? net.spawn(cmd, args, spawnOpts) : spawn(cmd, args, spawnOpts);
    closeSync(fd);
    procs.push({ name, child, log });
    return child;
  };
  const logTail = (name: string, lines = 30): string => {
    const p = procs.find((x) => x.name === name);
    if (!p || !existsSync(p.log)) return '';
    return readFileSync(p.log, 'utf8').split('\n').slice(-lines).join('\n');
  };
  const stop = async (): Promise<void> => {
    for (const p of [...procs].reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
    }
    net.destroy();
    if (!process.env.CONFKUBE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`e2e cluster folder kept: ${dir}\n`);
  };

  try {
    // etcd: TLS on both client and peer URLs, one member, on loopback.
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdCert = pki.cert('etcd-server');
    const etcd = startProcess('etcd', join(bin, 'etcd'), [
      '--name=e2e', `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=https://127.0.0.1:${etcdClient}`, `--advertise-client-urls=https://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=https://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=https://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=e2e=https://127.0.0.1:${etcdPeer}`,
      `--cert-file=${etcdCert.cert}`, `--key-file=${etcdCert.key}`, `--trusted-ca-file=${pki.ca}`, '--client-cert-auth',
      `--peer-cert-file=${etcdCert.cert}`, `--peer-key-file=${etcdCert.key}`, `--peer-trusted-ca-file=${pki.ca}`,
      '--peer-client-cert-auth', '--unsafe-no-fsync', '--log-level=warn',
    ]);
    etcd.once('exit', (c) => c && process.stderr.write(`etcd exited ${c}\n${logTail('etcd')}\n`));

    const apiCert = pki.cert('apiserver');
    const etcdClientCert = pki.cert('apiserver-etcd-client');
    const proxy = pki.cert('front-proxy-client');
    // Bound to all addresses so that processes in the pod network reach it at the veth address; clients on
    // this host use 127.0.0.1.
    const apiserver = startProcess('kube-apiserver', join(bin, 'kube-apiserver'), [
      `--etcd-servers=https://127.0.0.1:${etcdClient}`, `--etcd-cafile=${pki.ca}`,
      `--etcd-certfile=${etcdClientCert.cert}`, `--etcd-keyfile=${etcdClientCert.key}`,
      '--bind-address=0.0.0.0', `--advertise-address=${net.hostIp}`, `--secure-port=${apiPort}`,
      `--tls-cert-file=${apiCert.cert}`, `--tls-private-key-file=${apiCert.key}`, `--client-ca-file=${pki.ca}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(pki.dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(pki.dir, 'sa.key')}`,
      '--api-audiences=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true',
      `--requestheader-client-ca-file=${pki.frontProxyCa}`, `--proxy-client-cert-file=${proxy.cert}`,
      `--proxy-client-key-file=${proxy.key}`, '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-', '--enable-aggregator-routing=true',
      '--profiling=false', '--v=1',
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    await eventually('kube-apiserver /readyz', async () => {
      if (apiserver.exitCode !== null) throw new Error(`kube-apiserver exited ${apiserver.exitCode}:\n${logTail('kube-apiserver')}`);
      return (await httpsGet(server, pki, '/readyz')).status === 200;
    }, 120_000);

    const admin = pki.cert('admin');
    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, certKubeconfig(server, pki.ca, 'admin', admin.cert, admin.key), { mode: 0o600 });
    const component = (name: string): string => {
      const c = pki.cert(name);
      const f = join(dir, `${name}.kubeconfig`);
      writeFileSync(f, certKubeconfig(server, pki.ca, name, c.cert, c.key), { mode: 0o600 });
      return f;
    };
    const cmKubeconfig = component('controller-manager');
    startProcess('kube-controller-manager', join(bin, 'kube-controller-manager'), [
      `--kubeconfig=${cmKubeconfig}`, `--authentication-kubeconfig=${cmKubeconfig}`, `--authorization-kubeconfig=${cmKubeconfig}`,
      `--service-account-private-key-file=${join(pki.dir, 'sa.key')}`, `--root-ca-file=${pki.ca}`,
      '--use-service-account-credentials=true', '--leader-elect=false', '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`, `--cert-dir=${join(dir, 'cm-certs')}`,
      `--cluster-signing-cert-file=${pki.ca}`, `--cluster-signing-key-file=${pki.caKey}`,
      '--horizontal-pod-autoscaler-sync-period=5s', '--horizontal-pod-autoscaler-downscale-stabilization=15s',
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-attachdetach',
      '--v=1',
    ]);
    const schedKubeconfig = component('scheduler');
    startProcess('kube-scheduler', join(bin, 'kube-scheduler'), [
      `--kubeconfig=${schedKubeconfig}`, `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1',
      `--secure-port=${await freePort()}`, `--cert-dir=${join(dir, 'scheduler-certs')}`, '--v=1',
    ]);

    const run = (args: string[], input?: string) => {
      const r = execFileSyncSafe(join(bin, 'kubectl'), ['--kubeconfig', kubeconfig, ...args], input);
      return r;
    };
    const cp: ControlPlane = {
      dir, bin, pki, net, server, podServer: `https://${net.hostIp}:${apiPort}`, kubeconfig,
      kubectl(args, input) {
        const r = run(args, input);
        if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
        return r.stdout;
      },
      tryKubectl: run,
      startProcess, logTail, stop,
    };
    // The default ServiceAccount appears once the controller manager's token controllers run: a sign that
    // the controllers are working.
    await eventually('the default ServiceAccount', () => cp.tryKubectl(['get', 'serviceaccount', 'default', '-n', 'default']).status === 0, 120_000, 500);
    return cp;
  } catch (e) {
    await stop();
    throw e;
  }
}

function execFileSyncSafe(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { status: err.status ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}
