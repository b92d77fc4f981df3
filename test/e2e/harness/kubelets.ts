// Simulated kubelets, because a real kubelet cannot run here (no container runtime, no cgroup ownership). Each
// plays what the control plane sees of a kubelet, the way kwok does (docs/e2e.md §Simulated nodes):
// - registers its Node with status (capacity, allocatable, conditions, addresses, node info) and renews its Lease
//   in kube-node-lease, so the node lifecycle controller keeps it Ready and untainted;
// - marks pods bound to it Running and Ready (pod IP from the test's pod network where a real process stands in
//   for the pod), and finishes deletions the way the kubelet does (delete with grace period 0);
// - runs the kubelet's device-manager side of the device plugin API for real: a Registration server on
//   kubelet.sock (test/node/kubelet-peer.ts speaks the v1beta1 proto), and copies each plugin's healthy device
//   count into the Node's capacity and allocatable, as the kubelet does;
// - recreate() deletes and registers the Node again with extended resources zeroed and restarts the device
//   manager, as a kubelet does when its Node object was deleted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeletPeer } from '../../node/kubelet-peer.js';
import type { ListAndWatchResponse } from '../../../src/node/proto.js';
import { ApiError, type Api, type Json } from './api.js';

export interface SimNodeSpec {
  name: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  cpu?: string;
  memory?: string;
  /** Extended resources the kubelet reports zeroed after the Node is re-created (the agent must re-assert). */
  zeroedOnRecreate?: string[];
}

interface PodMeta {
  name: string;
  namespace: string;
  uid: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
}
interface Pod {
  metadata: PodMeta;
  spec: { nodeName?: string; hostNetwork?: boolean; containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
  status?: { phase?: string };
}

const KUBELET_VERSION = 'v1.36.3';
const microTime = (d = new Date()): string => d.toISOString().replace('Z', '000Z');

export class SimNode {
  readonly pluginDir: string;
  readonly kubelet: KubeletPeer;
  readonly ip: string;
  private devices = new Map<string, number>();

  constructor(readonly spec: SimNodeSpec, ipIndex: number) {
    this.pluginDir = mkdtempSync(join(tmpdir(), `ck-kubelet-${spec.name}-`));
    this.kubelet = new KubeletPeer(this.pluginDir);
    // Node addresses are never dialled in these tests (no logs, exec or kubelet API): a documentation range.
    this.ip = `198.51.100.${ipIndex}`;
    this.kubelet.on('list', (resource: string, msg: ListAndWatchResponse) => {
      this.devices.set(resource, msg.devices.filter((d) => d.health === 'Healthy').length);
    });
  }

  get name(): string {
    return this.spec.name;
  }

  /** A new device manager knows no plugin until they register again. */
  resetDevices(): void {
    this.devices.clear();
  }

  /** The device plugin resources as the kubelet would report them now. */
  deviceCapacity(): Record<string, string> {
    return Object.fromEntries([...this.devices].map(([k, v]) => [k, String(v)]));
  }

  nodeObject(): Json {
    return {
      apiVersion: 'v1', kind: 'Node',
      metadata: {
        name: this.name,
        labels: { 'kubernetes.io/hostname': this.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'confkube.test/simulated': 'true', ...this.spec.labels },
      },
      spec: { ...(this.spec.taints ? { taints: this.spec.taints } : {}) },
    };
  }

  nodeStatus(zeroed: string[]): Json {
    const resources = {
      cpu: this.spec.cpu ?? '8', memory: this.spec.memory ?? '32Gi', pods: '110', 'ephemeral-storage': '100Gi',
      ...this.deviceCapacity(), ...Object.fromEntries(zeroed.map((r) => [r, '0'])),
    };
    const now = new Date().toISOString();
    const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: reason, lastHeartbeatTime: now, lastTransitionTime: now });
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond('Ready', 'True', 'KubeletReady'), cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure'), cond('PIDPressure', 'False', 'KubeletHasSufficientPID'),
      ],
      addresses: [{ type: 'InternalIP', address: this.ip }, { type: 'Hostname', address: this.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: this.name, systemUUID: this.name, bootID: this.name, kernelVersion: '6.8.0', osImage: 'simulated',
        containerRuntimeVersion: 'simulated://1.0', kubeletVersion: KUBELET_VERSION, kubeProxyVersion: '',
        operatingSystem: 'linux', architecture: 'amd64',
      },
    };
  }
}

export interface KubeletsOptions {
  /** The pod IP for a pod, when a real process stands in for it; otherwise one is made up. */
  podIp?: (pod: Pod) => string | undefined;
  heartbeatMs?: number;
  syncMs?: number;
}

/** Runs the simulated kubelets of a cluster until stop(). */
export class Kubelets {
  readonly nodes = new Map<string, SimNode>();
  private timers: NodeJS.Timeout[] = [];
  private nextPodIp = 1;
  private podIps = new Map<string, string>();
  private syncing = false;
  private stopped = false;
  errors: string[] = [];

  constructor(private readonly api: Api, private readonly opts: KubeletsOptions = {}) {}

  async add(spec: SimNodeSpec): Promise<SimNode> {
    const node = new SimNode(spec, this.nodes.size + 10);
    await node.kubelet.start();
    this.nodes.set(spec.name, node);
    await this.register(node, []);
    return node;
  }

  private async register(node: SimNode, zeroed: string[]): Promise<void> {
    await this.api.post('/api/v1/nodes', node.nodeObject());
    await this.api.patch(`/api/v1/nodes/${node.name}/status`, { status: node.nodeStatus(zeroed) }, 'strategic');
    await this.renewLease(node);
  }

  /** As after `kubectl delete node` while the kubelet runs: the Node comes back with extended resources zeroed. */
  async recreate(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no simulated node ${name}`);
    await this.api.delete(`/api/v1/nodes/${name}`);
    for (let i = 0; i < 100 && (await this.api.find(`/api/v1/nodes/${name}`)); i++) await new Promise((r) => setTimeout(r, 100));
    await node.kubelet.restart();
    node.resetDevices();
    await this.register(node, node.spec.zeroedOnRecreate ?? []);
  }

  start(): void {
    const hb = setInterval(() => void this.heartbeat(), this.opts.heartbeatMs ?? 5000);
    const sync = setInterval(() => void this.syncPods(), this.opts.syncMs ?? 300);
    this.timers.push(hb, sync);
  }

  private async renewLease(node: SimNode): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.name}`;
    const spec = { holderIdentity: node.name, leaseDurationSeconds: 40, renewTime: microTime() };
    try {
      await this.api.patch(path, { spec }, 'merge');
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      await this.api.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node.name, namespace: 'kube-node-lease' }, spec,
      });
    }
  }

  private async heartbeat(): Promise<void> {
    for (const node of this.nodes.values()) {
      try {
        await this.renewLease(node);
        // The kubelet's status sync: device plugin counts and fresh conditions, never the agent's EPC.
        const status = node.nodeStatus([]);
        const devices = node.deviceCapacity();
        await this.api.patch(`/api/v1/nodes/${node.name}/status`, {
          status: { conditions: status.conditions, capacity: devices, allocatable: devices },
        }, 'strategic');
      } catch (e) {
        if (!this.stopped) this.errors.push(`heartbeat ${node.name}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * The kubelet's node status update for extended resources: device plugin counts into capacity and allocatable,
   * and capacity that another writer (the node agent's EPC) put on the Node copied into allocatable.
   */
  private async syncExtendedResources(node: SimNode, status: { capacity?: Record<string, string>; allocatable?: Record<string, string> }): Promise<void> {
    const capacity = { ...Object.fromEntries(Object.entries(status.capacity ?? {}).filter(([k]) => k.includes('/'))), ...node.deviceCapacity() };
    const stale = Object.entries(capacity).some(([k, v]) => status.capacity?.[k] !== v || status.allocatable?.[k] !== v);
    if (stale) await this.api.patch(`/api/v1/nodes/${node.name}/status`, { status: { capacity, allocatable: capacity } }, 'strategic');
  }

  private podIpFor(pod: Pod, node: SimNode): string {
    if (pod.spec.hostNetwork) return node.ip;
    const fixed = this.opts.podIp?.(pod);
    if (fixed) return fixed;
    let ip = this.podIps.get(pod.metadata.uid);
    if (!ip) {
      const n = this.nextPodIp++;
      ip = `10.244.${Math.floor(n / 250)}.${(n % 250) + 1}`;
      this.podIps.set(pod.metadata.uid, ip);
    }
    return ip;
  }

  private async syncPods(): Promise<void> {
    if (this.syncing || this.stopped) return;
    this.syncing = true;
    try {
      for (const node of this.nodes.values()) {
        const current = (await this.api.find(`/api/v1/nodes/${node.name}`)) as { status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> } } | null;
        if (current) await this.syncExtendedResources(node, current.status ?? {});
        const list = (await this.api.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${node.name}`)) as { items: Pod[] };
        for (const pod of list.items) await this.syncPod(pod, node);
      }
    } catch (e) {
      if (!this.stopped) this.errors.push(`sync: ${(e as Error).message}`);
    } finally {
      this.syncing = false;
    }
  }

  private async syncPod(pod: Pod, node: SimNode): Promise<void> {
    const { name, namespace, uid } = pod.metadata;
    const path = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (pod.metadata.deletionTimestamp) {
      await this.api.delete(path, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } });
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Running' || phase === 'Succeeded' || phase === 'Failed') return;
    const now = new Date().toISOString();
    const ip = this.podIpFor(pod, node);
    const running = (c: { name: string; image: string }) => ({
      name: c.name, image: c.image, imageID: `simulated://${c.image}`, containerID: `simulated://${uid}/${c.name}`,
      ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } },
    });
    const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    await this.api.patch(`${path}/status`, {
      status: {
        phase: 'Running', hostIP: node.ip, hostIPs: [{ ip: node.ip }], podIP: ip, podIPs: [{ ip }], startTime: now,
        conditions: ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled'].map(cond),
        containerStatuses: pod.spec.containers.map(running),
        ...(pod.spec.initContainers?.length
          ? { initContainerStatuses: pod.spec.initContainers.map((c) => ({ ...running(c), ready: true, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } } })) }
          : {}),
      },
    }, 'merge');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const node of this.nodes.values()) {
      await node.kubelet.stop();
      rmSync(node.pluginDir, { recursive: true, force: true });
    }
  }
}
