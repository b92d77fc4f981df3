import { EPC_ALIASES_MIB, EPC_RESOURCE, MIB } from './names.js';
import { quantityToBytes } from './quantity.js';

/** The parts of a Pod (core/v1) the agent reads. */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: {
    nodeName?: string;
    containers?: ContainerLike[];
    initContainers?: ContainerLike[];
  };
  status?: { phase?: string };
}

export interface ContainerLike {
  name?: string;
  restartPolicy?: string;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

/** One container's share of a resource, and where it sits in the pod. */
export interface ContainerAmount {
  list: 'containers' | 'initContainers';
  /** `Always` on an init container makes it a native sidecar (runs beside the app containers). */
  restartPolicy?: string | null;
  amount: number;
}

/**
 * A pod's effective request of one resource, as the scheduler computes it (docs/kube-operations.md §EPC):
 * init containers run one at a time, each beside the native sidecars started before it; the app containers
 * run beside every sidecar. Effective = max(sum(app) + sum(sidecars), max over init i of (init_i + sidecars
 * started before i)). Containers are taken in spec order.
 */
export function effectiveRequest(containers: readonly ContainerAmount[]): number {
  let sidecars = 0;
  let initMax = 0;
  let app = 0;
  for (const c of containers) {
    if (c.list === 'containers') app += c.amount;
    else if (c.restartPolicy === 'Always') sidecars += c.amount;
    else initMax = Math.max(initMax, c.amount + sidecars);
  }
  return Math.max(app + sidecars, initMax);
}

/** EPC bytes of one container's resources, counting an alias if the webhook did not rewrite it; 0 when unparsable. */
export function containerEpcBytes(c: ContainerLike): number {
  // Extended resources: requests must equal limits, and requests default to limits.
  const r = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
  try {
    if (r[EPC_RESOURCE] !== undefined) return quantityToBytes(r[EPC_RESOURCE]);
    let bytes = 0;
    for (const alias of EPC_ALIASES_MIB) if (r[alias] !== undefined) bytes += quantityToBytes(r[alias]) * MIB;
    return bytes;
  } catch {
    // The API server validated the pod; an unparsable value here counts as no request.
    return 0;
  }
}

/** EPC a pod holds on its node: the scheduler's effective request (see `effectiveRequest`). */
export function podEpcRequestBytes(pod: PodLike): number {
  const all: ContainerAmount[] = [
    ...(pod.spec?.initContainers ?? []).map((c) => ({ list: 'initContainers' as const, restartPolicy: c.restartPolicy, amount: containerEpcBytes(c) })),
    ...(pod.spec?.containers ?? []).map((c) => ({ list: 'containers' as const, amount: containerEpcBytes(c) })),
  ];
  return effectiveRequest(all);
}

/** Pods that hold node resources: everything not finished. */
export function isActivePod(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}
