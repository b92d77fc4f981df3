import { Counter, Gauge, Registry } from 'prom-client';
import type { SgxDiscovery } from './discover.js';
import type { ContainerLike, PodLike } from '../kube/pod-requests.js';
import { containerEpcBytes, isActivePod, podEpcRequestBytes } from '../kube/pod-requests.js';
import type { ProcScan } from './proc-scan.js';

/**
 * The agent's Prometheus metrics (docs/node.md §Per-pod EPC: nobody ships per-pod EPC metrics; docs/node.md §Metrics:
 * text exposition format 0.0.4). Names carry their unit; per-pod series carry `namespace`, `pod` and `container` as
 * metrics agents expect (docs/node.md §Metrics), plus `pod_uid` because the cgroup only knows the UID.
 */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  requestBytes: number;
  /** containerID without the runtime scheme → container name. */
  containerNames: Map<string, string>;
  /** Started containers with an EPC limit: what misc.max is written from. */
  epcLimits: { containerId: string; limitBytes: number }[];
}

type StatusLike = { containerStatuses?: { name?: string; containerID?: string }[]; initContainerStatuses?: { name?: string; containerID?: string }[] };

export function podInfos(pods: readonly PodLike[]): PodInfo[] {
  const out: PodInfo[] = [];
  for (const p of pods) {
    if (!isActivePod(p) || !p.metadata?.uid) continue;
    const names = new Map<string, string>();
    const st = (p as { status?: StatusLike }).status;
    const specs = new Map<string, ContainerLike>();
    for (const c of [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])]) if (c.name) specs.set(c.name, c);
    const epcLimits: PodInfo['epcLimits'] = [];
    for (const cs of [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? [])]) {
      const id = cs.containerID?.replace(/^[a-z0-9-]+:\/\//, '').toLowerCase();
      if (!id || !cs.name) continue;
      names.set(id, cs.name);
      const spec = specs.get(cs.name);
      const limitBytes = spec ? containerEpcBytes(spec) : 0;
      if (limitBytes > 0) epcLimits.push({ containerId: id, limitBytes });
    }
    out.push({ namespace: p.metadata.namespace ?? '', name: p.metadata.name ?? '', uid: p.metadata.uid, requestBytes: podEpcRequestBytes(p), containerNames: names, epcLimits });
  }
  return out;
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly node: string;
  private readonly capacity: Gauge;
  private readonly numaCapacity: Gauge;
  private readonly requested: Gauge;
  private readonly mapped: Gauge;
  private readonly hostMapped: Gauge;
  private readonly pressure: Gauge;
  private readonly podRequested: Gauge;
  private readonly podMapped: Gauge;
  private readonly podUsage: Gauge;
  private readonly podProcesses: Gauge;
  private readonly info: Gauge;
  private readonly pluginHealthy: Gauge;
  private readonly registrations: Counter;
  private readonly reasserts: Counter;
  private readonly scanSeconds: Gauge;
  private readonly scanned: Gauge;
  private readonly enforced: Gauge;
  private readonly limitWrites: Counter;
  private readonly dependency: Gauge;

  constructor(node: string) {
    this.node = node;
    const r = [this.registry];
    const g = (name: string, help: string, labelNames: string[] = []): Gauge => new Gauge({ name, help, labelNames: ['node', ...labelNames], registers: r });
    const c = (name: string, help: string, labelNames: string[] = []): Counter => new Counter({ name, help, labelNames: ['node', ...labelNames], registers: r });
    this.capacity = g('confkube_sgx_epc_capacity_bytes', 'EPC managed by the kernel on this node (sum of sgx_total_bytes).');
    this.numaCapacity = g('confkube_sgx_epc_numa_capacity_bytes', 'EPC per NUMA node.', ['numa_node']);
    this.requested = g('confkube_sgx_epc_requested_bytes', 'EPC requested (sgx.intel.com/epc) by pods not finished on this node.');
    this.mapped = g('confkube_sgx_epc_mapped_bytes', 'Bytes of enclave mappings of all processes on this node.');
    this.hostMapped = g('confkube_sgx_epc_host_mapped_bytes', 'Bytes of enclave mappings of processes outside any pod.');
    this.pressure = g('confkube_sgx_epc_pressure_ratio', 'max(requested, mapped) / capacity; above 1 the enclaves page (EWB/ELDU).');
    const podLabels = ['namespace', 'pod', 'pod_uid'];
    this.podRequested = g('confkube_sgx_pod_epc_requested_bytes', 'EPC requested by the pod (effective request).', podLabels);
    this.podMapped = g('confkube_sgx_pod_epc_mapped_bytes', 'Bytes of enclave mappings of the container\'s processes.', [...podLabels, 'container']);
    this.podUsage = g('confkube_sgx_pod_epc_usage_bytes', 'EPC charged to the container\'s cgroup (misc.current sgx_epc), where the kernel has the EPC cgroup.', [...podLabels, 'container']);
    this.podProcesses = g('confkube_sgx_pod_enclave_processes', 'Processes of the container with an enclave mapped.', [...podLabels, 'container']);
    this.info = g('confkube_sgx_node_info', 'SGX facts of this node (value 1).', ['sgx', 'flc', 'sgx2', 'driver', 'kernel', 'epc_cgroup']);
    this.pluginHealthy = g('confkube_sgx_device_plugin_healthy', 'Whether the device behind a device plugin resource is present (1) or not (0).', ['resource']);
    this.registrations = c('confkube_sgx_device_plugin_registrations_total', 'Successful registrations with the kubelet.', ['resource']);
    this.reasserts = c('confkube_sgx_epc_capacity_patches_total', 'Patches of sgx.intel.com/epc into node status (first assertion and every re-assertion).');
    this.scanSeconds = g('confkube_sgx_proc_scan_duration_seconds', 'Duration of the last /proc scan.');
    this.scanned = g('confkube_sgx_proc_scan_processes', 'Processes looked at by the last /proc scan.');
    this.enforced = g('confkube_sgx_epc_limits_enforced', 'Whether the agent writes each container\'s misc.max sgx_epc from its EPC limit (1) or EPC limits are scheduling only (0).');
    this.limitWrites = c('confkube_sgx_epc_limit_writes_total', 'misc.max sgx_epc files written (a container started or its limit changed).');
    this.dependency = g('confkube_agent_dependency_up', 'Whether a dependency of the agent is working now (1) or lost (0): kubelet registration per resource, API-server watches.', ['dependency']);
  }

  setEnforced(on: boolean): void {
    this.enforced.set({ node: this.node }, on ? 1 : 0);
  }

  countLimitWrites(n: number): void {
    if (n > 0) this.limitWrites.inc({ node: this.node }, n);
  }

  setDependency(name: string, up: boolean): void {
    this.dependency.set({ node: this.node, dependency: name }, up ? 1 : 0);
  }

  setDiscovery(d: SgxDiscovery): void {
    const node = this.node;
    this.capacity.set({ node }, d.epc.totalBytes);
    this.numaCapacity.reset();
    for (const n of d.epc.numa) this.numaCapacity.set({ node, numa_node: String(n.node) }, n.bytes);
    this.info.reset();
    this.info.set({ node, sgx: String(d.sgx), flc: String(d.flc), sgx2: d.sgx2 === null ? 'unknown' : String(d.sgx2), driver: d.driver, kernel: d.kernel ?? '', epc_cgroup: String(d.miscCgroup.sgxEpc) }, 1);
  }

  setPluginHealth(resource: string, healthy: boolean): void {
    this.pluginHealthy.set({ node: this.node, resource }, healthy ? 1 : 0);
  }

  countRegistration(resource: string): void {
    this.registrations.inc({ node: this.node, resource });
  }

  countCapacityPatch(): void {
    this.reasserts.inc({ node: this.node });
  }

  /** Replace every per-pod series with this scan (pods that left must not linger). */
  setUsage(capacityBytes: number, scan: ProcScan, pods: PodInfo[] | null, scanSeconds: number): void {
    const node = this.node;
    const byUid = new Map((pods ?? []).map((p) => [p.uid, p]));
    let requested = 0;
    this.podRequested.reset();
    for (const p of pods ?? []) {
      requested += p.requestBytes;
      if (p.requestBytes > 0) this.podRequested.set({ node, namespace: p.namespace, pod: p.name, pod_uid: p.uid }, p.requestBytes);
    }
    this.podMapped.reset();
    this.podUsage.reset();
    this.podProcesses.reset();
    for (const pod of scan.pods) {
      const info = byUid.get(pod.podUid);
      for (const c of pod.containers) {
        const labels = {
          node, namespace: info?.namespace ?? '', pod: info?.name ?? '', pod_uid: pod.podUid,
          container: (c.containerId && info?.containerNames.get(c.containerId)) ?? c.containerId ?? '',
        };
        this.podMapped.inc(labels, c.mappedBytes);
        this.podProcesses.inc(labels, c.processes);
        if (c.miscCurrentBytes !== null) this.podUsage.inc(labels, c.miscCurrentBytes);
      }
    }
    this.requested.set({ node }, requested);
    this.mapped.set({ node }, scan.totalMappedBytes);
    this.hostMapped.set({ node }, scan.host.mappedBytes);
    this.pressure.set({ node }, capacityBytes > 0 ? Math.max(requested, scan.totalMappedBytes) / capacityBytes : 0);
    this.scanSeconds.set({ node }, scanSeconds);
    this.scanned.set({ node }, scan.scanned);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
