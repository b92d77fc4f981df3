import { isObject } from '../admission/pod-spec.js';
import { effectiveRequest, type ContainerAmount } from '../kube/pod-requests.js';
import { parseQuantity } from '../kube/quantity.js';
import { PlannerError } from './errors.js';
import type { ResourceList } from './types.js';

/** Containers without a cpu/memory request count as this much when nodes are scored (kube-scheduler's non-zero defaults). */
export const DEFAULT_MILLI_CPU = 100;
export const DEFAULT_MEMORY = 200 * 1024 * 1024;

/** One quantity in the planner's base unit: millicores for cpu, bytes or units (rounded up) for the rest. */
export function toBase(name: string, raw: unknown, where: string, code = 'ERR_PLAN_INPUT'): number {
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new PlannerError(code, `${where}: ${name} must be a quantity, got ${JSON.stringify(raw)}`);
  let n: number;
  try {
    n = parseQuantity(raw);
  } catch (e) {
    throw new PlannerError(code, `${where}: ${name}: ${(e as Error).message}`);
  }
  return Math.ceil(name === 'cpu' ? n * 1000 : n);
}

/** A resource map (requests, limits, allocatable) in base units. */
export function resourceList(v: unknown, where: string): ResourceList {
  const out: ResourceList = {};
  if (!isObject(v)) return out;
  for (const [k, q] of Object.entries(v)) if (q !== null && q !== undefined) out[k] = toBase(k, q, where);
  return out;
}

interface Container {
  list: 'containers' | 'initContainers';
  restartPolicy: string | null;
  /** requests, defaulted from limits as the API server does. */
  requests: ResourceList;
}

function containersOfSpec(spec: Record<string, unknown>, where: string): Container[] {
  const out: Container[] = [];
  for (const list of ['initContainers', 'containers'] as const) {
    const arr = spec[list];
    if (!Array.isArray(arr)) continue;
    for (const c of arr) {
      if (!isObject(c)) continue;
      const w = `${where} ${list === 'initContainers' ? 'init container' : 'container'} "${typeof c.name === 'string' ? c.name : '?'}"`;
      const res = isObject(c.resources) ? c.resources : {};
      const requests = { ...resourceList(res.limits, w), ...resourceList(res.requests, w) };
      out.push({ list, restartPolicy: typeof c.restartPolicy === 'string' ? c.restartPolicy : null, requests });
    }
  }
  return out;
}

/**
 * What a pod asks of its node, as kube-scheduler's NodeResourcesFit adds it up: per resource the effective
 * request over app containers, native sidecars and init containers (docs/kube-operations.md §EPC), plus
 * `spec.overhead`. `score` holds cpu and memory with the non-zero defaults the scorers use.
 */
export function podRequests(spec: Record<string, unknown>, where: string): { requests: ResourceList; score: { cpu: number; memory: number } } {
  const containers = containersOfSpec(spec, where);
  const names = new Set(containers.flatMap((c) => Object.keys(c.requests)));
  const requests: ResourceList = {};
  const amounts = (f: (c: Container) => number): ContainerAmount[] => containers.map((c) => ({ list: c.list, restartPolicy: c.restartPolicy, amount: f(c) }));
  for (const n of names) {
    const v = effectiveRequest(amounts((c) => c.requests[n] ?? 0));
    if (v > 0) requests[n] = v;
  }
  const overhead = resourceList(spec.overhead, `${where} overhead`);
  for (const [n, v] of Object.entries(overhead)) if (v > 0) requests[n] = (requests[n] ?? 0) + v;
  const score = {
    cpu: effectiveRequest(amounts((c) => c.requests.cpu || DEFAULT_MILLI_CPU)) + (overhead.cpu ?? 0),
    memory: effectiveRequest(amounts((c) => c.requests.memory || DEFAULT_MEMORY)) + (overhead.memory ?? 0),
  };
  return { requests, score };
}
