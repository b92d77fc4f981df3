// The device plugins against a kubelet test peer (kubelet-peer.ts: the kubelet cannot run here;
// the peer speaks the real v1beta1 proto over unix sockets). Device nodes are real character
// devices made with mknod in a temporary host root; removing one must turn the devices unhealthy.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { SgxDevicePlugin } from '../../src/node/index.js';
import { captureLogger } from '../helpers/logger.js';
import { KubeletPeer } from './kubelet-peer.js';
import { makeHostTree, type HostTree } from './host-tree.js';

const ENCLAVE = 'sgx.intel.com/enclave';
const PROVISION = 'sgx.intel.com/provision';

describe('device plugins with a kubelet (DCsv3 host with aesmd)', () => {
  let tree: HostTree;
  let dir: string;
  let kubelet: KubeletPeer;
  const plugins: SgxDevicePlugin[] = [];
  const log = captureLogger();

  before(async () => {
    tree = await makeHostTree('dcsv3');
    dir = mkdtempSync(join(tmpdir(), 'ck-dp-'));
    kubelet = new KubeletPeer(dir);
    await kubelet.start();
    for (const kind of ['enclave', 'provision'] as const) {
      const p = new SgxDevicePlugin({ kind, hostRoot: tree.root, pluginDir: dir, slots: 110, checkIntervalMs: 50, backoff: { initialMs: 50, maxMs: 200 }, logger: log.logger });
      plugins.push(p);
      await p.start();
    }
  });
  after(async () => {
    for (const p of plugins) await p.stop();
    await kubelet.stop();
    await tree.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers both resources with version v1beta1 and its socket name', async () => {
    await kubelet.waitFor('both registered', () => kubelet.endpoints.size === 2 && !!kubelet.latest(ENCLAVE) && !!kubelet.latest(PROVISION));
    const regs = Object.fromEntries(kubelet.registrations.map((r) => [r.resource_name, r]));
    assert.equal(regs[ENCLAVE].version, 'v1beta1');
    assert.equal(regs[ENCLAVE].endpoint, 'confkube-sgx-enclave.sock');
    assert.equal(regs[PROVISION].endpoint, 'confkube-sgx-provision.sock');
    assert.deepEqual(kubelet.endpoints.get(ENCLAVE)!.options, { pre_start_required: false, get_preferred_allocation_available: false });
  });

  it('lists 110 shared healthy slots per resource', () => {
    for (const res of [ENCLAVE, PROVISION]) {
      const l = kubelet.latest(res)!;
      assert.equal(l.devices.length, 110);
      assert.deepEqual(l.devices[0], { ID: '0', health: 'Healthy', topology: null });
      assert.equal(l.devices[109].ID, '109');
      assert.ok(l.devices.every((d) => d.health === 'Healthy'));
    }
  });

  it('Allocate: the enclave device only, even on a host running aesmd (the pod, through the webhook, chooses its quoting)', async () => {
    const r = await kubelet.allocate(ENCLAVE, [['3'], ['7']]);
    assert.equal(r.container_responses.length, 2);
    assert.deepEqual(r.container_responses[0], {
      envs: {},
      mounts: [],
      devices: [{ container_path: '/dev/sgx_enclave', host_path: '/dev/sgx_enclave', permissions: 'rw' }],
      annotations: {},
      cdi_devices: [],
    });
  });

  it('Allocate: the provisioning device, without the quote helper', async () => {
    const r = await kubelet.allocate(PROVISION, [['0']]);
    assert.deepEqual(r.container_responses[0].devices, [{ container_path: '/dev/sgx_provision', host_path: '/dev/sgx_provision', permissions: 'rw' }]);
    assert.deepEqual(r.container_responses[0].mounts, []);
    assert.deepEqual(r.container_responses[0].envs, {});
  });

  it('Allocate refuses a device ID it never listed', async () => {
    await assert.rejects(kubelet.allocate(ENCLAVE, [['110']]), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /unknown device "110"/.test(e.details));
  });

  it('health follows the device node: removed → Unhealthy (and Allocate fails), re-created → Healthy', async () => {
    const before = kubelet.endpoints.get(ENCLAVE)!.lists.length;
    unlinkSync(join(tree.root, 'dev/sgx_enclave'));
    await kubelet.waitFor('enclave unhealthy', () => kubelet.latest(ENCLAVE)!.devices.every((d) => d.health === 'Unhealthy'));
    assert.equal(kubelet.endpoints.get(ENCLAVE)!.lists.length, before + 1, 'one full list per change');
    assert.equal(kubelet.latest(ENCLAVE)!.devices.length, 110, 'the full list, not a delta');
    assert.ok(kubelet.latest(PROVISION)!.devices.every((d) => d.health === 'Healthy'), 'provision unaffected');
    await assert.rejects(kubelet.allocate(ENCLAVE, [['0']]), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    tree.mknod('/dev/sgx_enclave', 10, 125);
    await kubelet.waitFor('enclave healthy again', () => kubelet.latest(ENCLAVE)!.devices.every((d) => d.health === 'Healthy'));
    const r = await kubelet.allocate(ENCLAVE, [['0']]);
    assert.equal(r.container_responses[0].devices[0].host_path, '/dev/sgx_enclave');
    assert.ok(log.lines.some((l) => l.msg === 'device node vanished' && l.level === 'warn'));
  });

  it('re-registers both resources when the kubelet restarts (sockets deleted, kubelet.sock re-created)', async () => {
    const n = kubelet.registrations.length;
    await kubelet.restart();
    await kubelet.waitFor('re-registered', () => kubelet.registrations.length >= n + 2 && !!kubelet.latest(ENCLAVE) && !!kubelet.latest(PROVISION));
    assert.deepEqual(new Set(kubelet.registrations.slice(n).map((r) => r.resource_name)), new Set([ENCLAVE, PROVISION]));
    assert.equal(kubelet.latest(ENCLAVE)!.devices.length, 110);
    const r = await kubelet.allocate(ENCLAVE, [['1']]);
    assert.equal(r.container_responses[0].devices[0].host_path, '/dev/sgx_enclave');
    assert.ok(plugins.every((p) => p.registrations >= 2));
  });

  it('a kubelet that only re-creates kubelet.sock (plugin socket kept) also gets a new registration', async () => {
    const n = kubelet.registrations.length;
    await kubelet.stop();
    await kubelet.start();
    await kubelet.waitFor('re-registered', () => kubelet.registrations.length >= n + 2 && !!kubelet.latest(ENCLAVE) && !!kubelet.latest(PROVISION));
    assert.equal(kubelet.latest(ENCLAVE)!.devices.length, 110);
  });
});

describe('device plugin when the kubelet is down, and on a legacy isgx host', () => {
  it('retries with backoff until the kubelet appears, then serves /dev/isgx (no provision device there)', async () => {
    const tree = await makeHostTree('legacy-isgx');
    const dir = mkdtempSync(join(tmpdir(), 'ck-dp-'));
    const log = captureLogger();
    const plugin = new SgxDevicePlugin({ kind: 'enclave', hostRoot: tree.root, pluginDir: dir, slots: 3, checkIntervalMs: 50, backoff: { initialMs: 30, maxMs: 100 }, logger: log.logger });
    const kubelet = new KubeletPeer(dir);
    try {
      await plugin.start();
      // No kubelet yet: registration fails and is retried, with a clear message.
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (log.lines.filter((l) => l.msg === 'kubelet registration failed; will retry').length >= 2) {
            clearInterval(t);
            resolve();
          }
        }, 20);
      });
      await kubelet.start();
      await kubelet.waitFor('registered', () => !!kubelet.latest(ENCLAVE));
      assert.deepEqual(kubelet.latest(ENCLAVE)!.devices.map((d) => d.ID), ['0', '1', '2']);
      const r = await kubelet.allocate(ENCLAVE, [['2']]);
      assert.deepEqual(r.container_responses[0].devices, [{ container_path: '/dev/isgx', host_path: '/dev/isgx', permissions: 'rw' }]);
      assert.deepEqual(r.container_responses[0].envs, {});
      assert.deepEqual(r.container_responses[0].mounts, []);
      const retry = log.lines.find((l) => l.msg === 'kubelet registration failed; will retry')!;
      assert.equal(retry.level, 'warn');
      assert.equal(typeof retry.retryInMs, 'number');
      assert.equal(retry.resource, ENCLAVE);
    } finally {
      await plugin.stop();
      await kubelet.stop();
      await tree.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing device plugin directory is waited for, not a crash', async () => {
    const tree = await makeHostTree('dcsv2');
    const base = mkdtempSync(join(tmpdir(), 'ck-dp-'));
    const dir = join(base, 'device-plugins');
    const log = captureLogger();
    const plugin = new SgxDevicePlugin({ kind: 'enclave', hostRoot: tree.root, pluginDir: dir, slots: 1, checkIntervalMs: 30, backoff: { initialMs: 30, maxMs: 60 }, logger: log.logger });
    const kubelet = new KubeletPeer(dir);
    try {
      await plugin.start();
      assert.ok(log.lines.some((l) => String(l.msg).startsWith('cannot serve the plugin socket') && l.level === 'warn'));
      mkdirSync(dir);
      await kubelet.start();
      await kubelet.waitFor('registered', () => !!kubelet.latest(ENCLAVE));
      assert.deepEqual(kubelet.latest(ENCLAVE)!.devices.map((d) => d.ID), ['0']);
    } finally {
      await plugin.stop();
      await kubelet.stop();
      await tree.cleanup();
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a kubelet that rejects the registration gets retried, and the plugin registers once it accepts', async () => {
    const tree = await makeHostTree('dcsv2');
    const dir = mkdtempSync(join(tmpdir(), 'ck-dp-'));
    const kubelet = new KubeletPeer(dir);
    kubelet.reject = 'device plugin registration is not allowed right now';
    await kubelet.start();
    const log = captureLogger();
    const plugin = new SgxDevicePlugin({ kind: 'provision', hostRoot: tree.root, pluginDir: dir, slots: 2, checkIntervalMs: 50, backoff: { initialMs: 30, maxMs: 60 }, logger: log.logger });
    try {
      await plugin.start();
      await new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (log.lines.some((l) => typeof l.err === 'object' && /not allowed right now/.test(JSON.stringify(l.err)))) {
            clearInterval(t);
            resolve();
          }
        }, 20);
      });
      assert.equal(plugin.registrations, 0);
      kubelet.reject = null;
      await kubelet.waitFor('registered', () => !!kubelet.latest(PROVISION));
      assert.equal(plugin.registrations, 1);
    } finally {
      await plugin.stop();
      await kubelet.stop();
      await tree.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
