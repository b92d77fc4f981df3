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

interface ContainerLike {
  name?: string;
  restartPolicy?: string;
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

function containerEpc(c: ContainerLike): number {
  // Extended resources: requests must equal limits, and requests default to limits (docs/node.md §EPC as an extended resource).
  const r = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
  let bytes = 0;
  try {
    if (r[EPC_RESOURCE] !== undefined) bytes += quantityToBytes(r[EPC_RESOURCE]);
    // Aliases are integer MiB; the webhook normally rewrote them, count them if it did not.
    else for (const alias of EPC_ALIASES_MIB) if (r[alias] !== undefined) bytes += quantityToBytes(r[alias]) * MIB;
  } catch {
    // The API server validated the pod; an unparsable value here counts as no request.
  }
  return bytes;
}

/**
 * EPC a pod holds on its node: like the scheduler's effective request, max(sum of app containers
 * + sidecar init containers, largest ordinary init container).
 */
export function podEpcRequestBytes(pod: PodLike): number {
  let sidecars = 0;
  let initMax = 0;
  for (const c of pod.spec?.initContainers ?? []) {
    const b = containerEpc(c);
    if (c.restartPolicy === 'Always') sidecars += b;
    else initMax = Math.max(initMax, b + sidecars);
  }
  let app = sidecars;
  for (const c of pod.spec?.containers ?? []) app += containerEpc(c);
  return Math.max(app, initMax);
}

/** Pods that hold node resources: everything not finished. */
export function isActivePod(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}
