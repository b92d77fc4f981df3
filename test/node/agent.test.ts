// The whole node agent and its CLI, against the kubelet test peer (kubelet-peer.ts) and the
// kube-apiserver test peer (apiserver-peer.ts) — neither a kubelet nor a control plane can run
// here. Host roots are fixture trees with mknod devices and the fixture /proc of proc-scan.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, NodeAgent, type Logger } from '../../src/node/index.js';
import { ApiServerPeer } from '../../support/apiserver-peer.js';
import { FIXTURES, makeHostTree } from './host-tree.js';
import { KubeletPeer } from './kubelet-peer.js';
import { CLI } from '../helpers/cli.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const ids = JSON.parse(spawnSync('cat', [join(FIXTURES, 'proc-scan/ids.json')], { encoding: 'utf8' }).stdout) as Record<string, { uid: string; container: string; containers: string[] }>;

function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

const labelsOf = (api: ApiServerPeer): Record<string, string> => ((api.node?.metadata as { labels: Record<string, string> }).labels);
const capacityOf = (api: ApiServerPeer): Record<string, string> => ((api.node?.status as { capacity: Record<string, string> }).capacity);

describe('node agent on an SGX2 host', () => {
  it('labels, capacity, both device plugins and per-pod metrics', async () => {
    const tree = await makeHostTree('dcsv3');
    cpSync(join(FIXTURES, 'proc-scan/proc'), join(tree.root, 'proc'), { recursive: true });
    cpSync(join(FIXTURES, 'proc-scan/sys'), join(tree.root, 'sys'), { recursive: true });
    const pluginDir = mkdtempSync(join(tmpdir(), 'ck-agent-dp-'));
    const kubelet = new KubeletPeer(pluginDir);
    await kubelet.start();
    const api = new ApiServerPeer('aks-dc48-0');
    api.pods = [{
      kind: 'Pod', apiVersion: 'v1',
      metadata: { name: 'enclave-app', namespace: 'prod', uid: ids.podA.uid },
      spec: { nodeName: 'aks-dc48-0', containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': '100Mi' }, requests: { 'sgx.intel.com/epc': '100Mi' } } }] },
      status: { phase: 'Running', containerStatuses: [{ name: 'app', containerID: `containerd://${ids.podA.container}` }] },
    }, {
      kind: 'Pod', apiVersion: 'v1', metadata: { name: 'elsewhere', namespace: 'prod', uid: 'x' },
      spec: { nodeName: 'other-node', containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': '1Gi' } } }] }, status: { phase: 'Running' },
    }];
    await api.start();
    const log = captureLogger();
    const agent = new NodeAgent({
      hostRoot: tree.root, nodeName: 'aks-dc48-0', kubeconfig: api.kubeconfig(), pluginDir, metrics: { host: '127.0.0.1', port: 0 },
      checkIntervalMs: 50, scanIntervalMs: 60_000, backoff: { initialMs: 50, maxMs: 200 }, logger: log.logger, healthGraceMs: 0,
    });
    const miscMax = (uid: string, id: string) => join(tree.root, 'sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice', `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`, `cri-containerd-${id}.scope`, 'misc.max');
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${agent.metricsAddress!.port}${path}`);
      return { status: r.status, body: (await r.json()) as { checks: { name: string; ok: boolean }[] } };
    };
    try {
      await agent.start();
      await api.waitFor('capacity and labels', () => capacityOf(api)['sgx.intel.com/epc'] === '274877906944' && labelsOf(api)['confkube.io/epc-mib'] === '262144');
      assert.equal(labelsOf(api)['confkube.io/aesmd'], 'true');
      await kubelet.waitFor('both plugins', () => !!kubelet.latest('sgx.intel.com/enclave') && !!kubelet.latest('sgx.intel.com/provision'));
      await agent.scan();
      const res = await fetch(`http://127.0.0.1:${agent.metricsAddress!.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.ok(text.includes(`confkube_sgx_epc_requested_bytes{node="aks-dc48-0"} ${100 * MiB}`), 'only pods of this node');
      assert.ok(text.includes(`confkube_sgx_pod_epc_mapped_bytes{node="aks-dc48-0",namespace="prod",pod="enclave-app",pod_uid="${ids.podA.uid}",container="app"} ${80 * MiB}`));
      assert.ok(text.includes(`confkube_sgx_pod_epc_usage_bytes{node="aks-dc48-0",namespace="prod",pod="enclave-app",pod_uid="${ids.podA.uid}",container="app"} ${72 * MiB}`));
      assert.ok(text.includes('confkube_sgx_device_plugin_healthy{node="aks-dc48-0",resource="sgx.intel.com/enclave"} 1'));
      assert.ok(text.includes('confkube_sgx_epc_capacity_patches_total{node="aks-dc48-0"} 1'));
      const pods = api.requests.find((r) => r.path === '/api/v1/pods')!;
      assert.equal(pods.query.fieldSelector, 'spec.nodeName=aks-dc48-0');
      // Pods come by watch: one list, then the watch on this node's pods; scans make no call.
      await api.waitFor('pod watch', () => api.count('watch', '/api/v1/pods') === 1);
      assert.equal(api.requests.find((r) => r.verb === 'watch' && r.path === '/api/v1/pods')!.query.fieldSelector, 'spec.nodeName=aks-dc48-0');
      await agent.scan();
      await agent.scan();
      assert.equal(api.count('list', '/api/v1/pods'), 1);
      // EPC enforcement: the kernel offers sgx_epc in misc.capacity, so the container's limit went to misc.max.
      assert.equal(readFileSync(miscMax(ids.podA.uid, ids.podA.container), 'utf8'), `sgx_epc ${100 * MiB}\n`);
      assert.equal(labelsOf(api)['confkube.io/epc-enforced'], 'true');
      assert.ok(text.includes('confkube_sgx_epc_limits_enforced{node="aks-dc48-0"} 1'));
      // A pod that starts later (cgroupfs driver) is enforced from its watch event, without a scan.
      const limitB = join(tree.root, 'sys/fs/cgroup/kubepods/burstable', `pod${ids.podC.uid}`, ids.podC.containers[0], 'misc.max');
      assert.equal(existsSync(limitB), false);
      api.apply('pods', {
        kind: 'Pod', apiVersion: 'v1', metadata: { name: 'late', namespace: 'prod', uid: ids.podC.uid },
        spec: { nodeName: 'aks-dc48-0', containers: [{ name: 'app', resources: { limits: { 'sgx.intel.com/epc': '32Mi' } } }] },
        status: { phase: 'Running', containerStatuses: [{ name: 'app', containerID: `containerd://${ids.podC.containers[0]}` }] },
      });
      await api.waitFor('misc.max of the new pod', () => existsSync(limitB) && readFileSync(limitB, 'utf8') === `sgx_epc ${32 * MiB}\n`);
      // Health: every dependency up; then the API server goes away and both readiness and liveness (grace 0) fail.
      const ready = await get('/readyz');
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.deepEqual(ready.body.checks.map((c) => c.name).sort(), ['apiserver-node-watch', 'apiserver-pod-watch', 'kubelet-registration:sgx.intel.com/enclave', 'kubelet-registration:sgx.intel.com/provision']);
      await api.stop();
      await api.waitFor('API loss seen', () => agent.health().checks.filter((c) => c.name.startsWith('apiserver') && !c.ok).length === 2);
      assert.equal((await get('/readyz')).status, 503);
      assert.equal((await get('/healthz')).status, 503);
      await api.start();
      await api.waitFor('API back', () => agent.health().ready);
      assert.equal((await get('/healthz')).status, 200);
      // The kubelet going away is a lost registration too.
      await kubelet.stop();
      await api.waitFor('registration loss seen', () => agent.health().checks.some((c) => c.name.startsWith('kubelet') && !c.ok));
      assert.equal((await get('/readyz')).status, 503);
      await kubelet.start();
      await api.waitFor('registered again', () => agent.health().ready);
      await agent.stop();
      assert.deepEqual(readdirSync(pluginDir).filter((f) => f.startsWith('confkube-')), [], 'plugin sockets removed on stop');
    } finally {
      await agent.stop();
      await kubelet.stop();
      await api.cleanup();
      await tree.cleanup();
      rmSync(pluginDir, { recursive: true, force: true });
    }
  });
});

describe('node agent start failure', () => {
  it('a metrics port in use fails start with the reason and leaves no socket or timer behind', async () => {
    const tree = await makeHostTree('dcsv2');
    const pluginDir = mkdtempSync(join(tmpdir(), 'ck-agent-dp-'));
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    const agent = new NodeAgent({ hostRoot: tree.root, kube: false, pluginDir, metrics: { host: '127.0.0.1', port }, logger: captureLogger().logger });
    try {
      await assert.rejects(agent.start(), /EADDRINUSE/);
      assert.deepEqual(readdirSync(pluginDir), []);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
      await tree.cleanup();
      rmSync(pluginDir, { recursive: true, force: true });
    }
  });
});

describe('node agent on a host without SGX', () => {
  it('labels the node as non-SGX, serves no device plugin, asserts no capacity, and idles', async () => {
    const tree = await makeHostTree('no-sgx');
    const pluginDir = mkdtempSync(join(tmpdir(), 'ck-agent-dp-'));
    const api = new ApiServerPeer('aks-d4-0', { 'confkube.io/epc-mib': '168', 'feature.node.kubernetes.io/cpu-security.sgx.enabled': 'true' });
    await api.start();
    const log = captureLogger();
    const agent = new NodeAgent({ hostRoot: tree.root, nodeName: 'aks-d4-0', kubeconfig: api.kubeconfig(), pluginDir, metrics: { host: '127.0.0.1', port: 0 }, logger: log.logger });
    try {
      await agent.start();
      await api.waitFor('labels', () => labelsOf(api)['confkube.io/sgx'] === 'false');
      assert.equal(labelsOf(api)['confkube.io/epc-mib'], undefined, 'stale label removed');
      assert.equal(labelsOf(api)['feature.node.kubernetes.io/cpu-security.sgx.enabled'], undefined);
      assert.equal(labelsOf(api)['confkube.io/sgx-driver'], 'none');
      assert.equal(api.requests.filter((r) => r.path.endsWith('/status')).length, 0, 'no capacity patch');
      assert.deepEqual(readdirSync(pluginDir), [], 'no plugin socket');
      assert.ok(log.lines.some((l) => l.msg === 'no SGX on this host: labelling the node as non-SGX and idling' && l.level === 'info'));
      assert.ok(!log.lines.some((l) => l.level === 'error'));
      const text = await (await fetch(`http://127.0.0.1:${agent.metricsAddress!.port}/metrics`)).text();
      assert.ok(text.includes('sgx="false"'));
    } finally {
      await agent.stop();
      await api.cleanup();
      await tree.cleanup();
      rmSync(pluginDir, { recursive: true, force: true });
    }
  });
});

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI', () => {
  it('confkube node discover --json and text, on SGX and non-SGX hosts (exit 0 both)', async () => {
    const sgx = await makeHostTree('dcsv2');
    const plain = await makeHostTree('no-sgx');
    try {
      const j = cli(['node', 'discover', '--json', '--host-root', sgx.root]);
      assert.equal(j.status, 0, j.stderr);
      const d = JSON.parse(j.stdout) as { sgx: boolean; epc: { totalBytes: number }; driver: string; devices: { enclave: string } };
      assert.equal(d.sgx, true);
      assert.equal(d.epc.totalBytes, 168 * MiB);
      assert.equal(d.driver, 'inkernel');
      assert.equal(d.devices.enclave, '/dev/sgx_enclave');
      const t = cli(['node', 'discover', '--host-root', sgx.root]);
      assert.equal(t.status, 0);
      assert.match(t.stdout, /^SGX: yes \(SGX1\), Flexible Launch Control: yes, driver: inkernel$/m);
      assert.match(t.stdout, /^EPC: 168 MiB \(176160768 bytes, from sysfs\)$/m);
      const n = cli(['node', 'discover', '--host-root', plain.root]);
      assert.equal(n.status, 0);
      assert.match(n.stdout, /^SGX: no \(an ordinary node\)$/m);
    } finally {
      await sgx.cleanup();
      await plain.cleanup();
    }
  });

  it('confkube node-agent: bad flags exit 2; no node name is a clear usage error', () => {
    const r = cli(['node-agent', '--no-device-plugin', '--metrics-address', 'off', '--kubeconfig', '/nonexistent']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /node name unknown/);
    const s = cli(['node-agent', '--slots', 'many']);
    assert.equal(s.status, 2);
    assert.match(s.stderr, /--slots/);
    const h = cli(['node-agent', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /--host-root/);
  });

  it('confkube node-agent on a host without SGX runs, labels the node, logs JSON and stops cleanly on SIGTERM', async () => {
    const tree = await makeHostTree('no-sgx');
    const api = new ApiServerPeer('aks-d4-1');
    await api.start();
    const child = spawn(process.execPath, [...CLI, 'node-agent', '--host-root', tree.root, '--node-name', 'aks-d4-1',
      '--kubeconfig', api.kubeconfig(), '--plugin-dir', tree.root, '--metrics-address', '127.0.0.1:0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await api.waitFor('labelled', () => labelsOf(api)?.['confkube.io/sgx'] === 'false', 30_000);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      const lines = stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
      assert.ok(lines.some((l) => l.msg === 'signal received; stopping'));
      assert.ok(lines.some((l) => l.msg === 'stopped'));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await api.cleanup();
      await tree.cleanup();
    }
  });
});
