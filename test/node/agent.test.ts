// The whole node agent and its CLI, against the kubelet test peer (kubelet-peer.ts) and the
// kube-apiserver test peer (apiserver-peer.ts) — neither a kubelet nor a control plane can run
// here. Host roots are fixture trees with mknod devices and the fixture /proc of proc-scan.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NodeAgent } from '../../src/node/index.js';
import { captureLogger } from '../helpers/logger.js';
import { ApiServerPeer } from './apiserver-peer.js';
import { FIXTURES, makeHostTree } from './host-tree.js';
import { KubeletPeer } from './kubelet-peer.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const ids = JSON.parse(spawnSync('cat', [join(FIXTURES, 'proc-scan/ids.json')], { encoding: 'utf8' }).stdout) as Record<string, { uid: string; container?: string }>;

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
      checkIntervalMs: 50, scanIntervalMs: 60_000, backoff: { initialMs: 50, maxMs: 200 }, logger: log.logger,
    });
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
      assert.equal((await fetch(`http://127.0.0.1:${agent.metricsAddress!.port}/healthz`)).status, 200);
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
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: REPO, encoding: 'utf8' });
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
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'node-agent', '--host-root', tree.root, '--node-name', 'aks-d4-1',
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
