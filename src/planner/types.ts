/**
 * The planner's public shapes (docs/planner.md). Quantities are plain numbers in base units: `cpu` in
 * millicores, `memory`, `ephemeral-storage` and `sgx.intel.com/epc` in bytes, everything else (pods,
 * `sgx.intel.com/enclave`, `sgx.intel.com/provision`, other extended resources) in whole units.
 */

/** Resource name → amount in base units (see above). */
export type ResourceList = Record<string, number>;

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
}

/** A node as the planner sees it: read from a cluster, or made from a pool of a catalogue VM size. */
export interface NodeShape {
  name: string;
  /** Node pool (AKS `agentpool` / `kubernetes.azure.com/agentpool` label, or the pool's name). */
  pool?: string;
  /** VM size (`node.kubernetes.io/instance-type` label, or the pool's size). */
  vmSize?: string;
  labels: Record<string, string>;
  taints: Taint[];
  /** status.allocatable; `pods` is the pods-per-node limit. */
  allocatable: ResourceList;
  /** spec.unschedulable (cordoned). */
  unschedulable?: boolean;
  /** What pods already bound to the node request (live cluster), summed as the scheduler does. */
  requested?: ResourceList;
  /** Pods already bound to the node. */
  podCount?: number;
}

/** A pool of identical nodes of one catalogue VM size. */
export interface PoolSpec {
  /** Pool name (AKS: 1–12 lower-case letters and digits, starting with a letter); defaults from the size. */
  name?: string;
  vmSize: string;
  count: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** Pods-per-node limit; the catalogue's (110 in the built-in one) when unset: see docs/planner.md §Allocatable. */
  maxPods?: number;
}

/** Existing nodes, pools of catalogue VM sizes, or both. */
export interface PlanTarget {
  nodes?: NodeShape[];
  pools?: PoolSpec[];
}

/** One VM size of the catalogue. */
export interface VmSize {
  name: string;
  /** `DCsv2`, `DCsv3`, `DCdsv3`, or any family name a catalogue file gives. */
  family: string;
  vCpus: number;
  memoryBytes: number;
  /** EPC the node advertises as sgx.intel.com/epc, bytes; 0 for a plain (non-SGX) size. */
  epcBytes: number;
  /** Price per node-hour in `Catalogue.currency`, when the catalogue file sets one (the operator's prices). */
  pricePerHour?: number;
  /**
   * Cost relative to the other sizes of the catalogue, used to compare shapes when no price is set. The built-in
   * catalogue uses vCPUs (Azure prices these families roughly by core: docs/planner.md §Cost); it is not money.
   */
  relativeCost: number;
  /** Pods-per-node limit for nodes of this size (default: the catalogue's `maxPods`). */
  maxPods?: number;
  /** Where the numbers come from (URL). */
  source?: string;
}

export interface Catalogue {
  /** `built-in` or the file path. */
  source: string;
  /** Currency of `pricePerHour` (e.g. `USD`), when prices are set. */
  currency?: string;
  /** Default pods-per-node limit. */
  maxPods: number;
  /** Resources the node keeps for itself (kubelet, system, eviction), subtracted from capacity: docs/planner.md §Allocatable. */
  reserved: 'aks' | 'none';
  sizes: VmSize[];
}

/** One pod to place, after workload expansion and the webhook's normalisation. */
export interface PlannedPod {
  /** `namespace/name`; replicas are `namespace/workload-0`, `-1`, … */
  id: string;
  namespace: string;
  name: string;
  /** `Kind/name` of the manifest it came from. */
  workload: string;
  /** Effective requests (init containers, sidecars and overhead counted as the scheduler does). */
  requests: ResourceList;
  /** The pod asks for SGX (the webhook's decision). */
  sgx: boolean;
  nodeSelector: Record<string, string>;
  affinity?: NodeAffinityRequired;
  tolerations: Toleration[];
  /** A DaemonSet pod: one per eligible node rather than a count. */
  daemon?: boolean;
  /** Already bound (live cluster): counted on its node, not placed. */
  nodeName?: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: TaintEffect;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';
  values?: string[];
}

/** requiredDuringSchedulingIgnoredDuringExecution: terms ORed, expressions within a term ANDed. */
export interface NodeAffinityRequired {
  nodeSelectorTerms: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] }[];
}

export interface Placement {
  pod: string;
  workload: string;
  node: string;
  pool?: string;
  epcBytes: number;
}

/** Capacity, requested and headroom of one resource on one node. */
export interface Usage {
  capacity: number;
  requested: number;
  headroom: number;
}

export interface NodeReport {
  name: string;
  pool?: string;
  vmSize?: string;
  epc: Usage;
  cpu: Usage;
  memory: Usage;
  pods: Usage;
}

export interface Unschedulable {
  pod: string;
  workload: string;
  epcBytes: number;
  /** As kube-scheduler phrases it: `0/3 nodes are available: 2 Insufficient sgx.intel.com/epc, 1 node(s) had untolerated taint {…}.` */
  reason: string;
  /** Per-reason node counts behind `reason`. */
  reasons: Record<string, number>;
}

export interface RecommendedPool {
  name: string;
  vmSize: string;
  count: number;
  labels: Record<string, string>;
  taints: Taint[];
  pricePerHour?: number;
  relativeCost: number;
}

export interface Recommendation {
  /** Every pod fits on `pools` (false: `unfit` lists the pods no catalogue size can hold). */
  fits: boolean;
  pools: RecommendedPool[];
  /** Sum over pools of count × price, when every size has a price. */
  pricePerHour?: number;
  currency?: string;
  relativeCost: number;
  /** `az aks nodepool add …` lines, one per pool. */
  commands: string[];
  /** Pods that fit on no catalogue size, with the reason. */
  unfit: { pod: string; reason: string }[];
}

export interface PlanResult {
  placements: Placement[];
  nodes: NodeReport[];
  unschedulable: Unschedulable[];
  /** Null when not asked for (`options.recommend === false`). */
  recommendation: Recommendation | null;
  /** Notes about the input (a workload kind that makes no pods, a webhook warning or refusal). */
  warnings: string[];
}

export interface RecommendOptions {
  /** `--cluster-name` of the `az aks nodepool add` lines (default `<cluster>`). */
  clusterName?: string;
  /** `--resource-group` (default `<resource-group>`). */
  resourceGroup?: string;
  /** Only these sizes are considered (default: every SGX size of the catalogue, and the plain sizes for plain pods). */
  sizes?: string[];
  /** Taint put on new SGX pools; SGX pods get the matching toleration from the webhook unless `webhook.sgxToleration` says otherwise. None by default. */
  sgxTaint?: Taint;
}

export interface PlanOptions {
  catalogue?: Catalogue;
  /** Namespace for objects without one (default `default`). */
  namespace?: string;
  /** Apply the confkube webhook's mutation (aliases, devices, SGX toleration) first: true by default. */
  webhook?: boolean | { sgxToleration?: { key: string; operator?: 'Exists' | 'Equal'; value?: string; effect?: TaintEffect } | null };
  /** Work out the cheapest pool shape (default true). */
  recommend?: boolean | RecommendOptions;
}
