/**
 * Where the pod spec sits in each kind the webhook admits, as a JSON Pointer prefix, and nil-safe accessors:
 * every field may be missing or null (the AKS webhook panicked on a nil annotations map, docs/admission.md §Decisions).
 */
export const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  PodTemplate: ['template', 'spec'],
};

/** The metadata that carries a pod's annotations: the template's for workloads (the spec path's sibling). */
export const POD_META_PATHS: Record<string, string[]> = Object.fromEntries(
  Object.entries(POD_SPEC_PATHS).map(([kind, path]) => [kind, [...path.slice(0, -1), 'metadata']]),
);

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function at(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** RFC 6901 escaping of one path segment. */
export function pointer(path: readonly (string | number)[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** A string map (annotations, labels) or an empty one when missing, null or malformed. */
export function stringMap(v: unknown): Record<string, string> {
  if (!isObject(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export interface ContainerRef {
  list: 'containers' | 'initContainers';
  index: number;
  container: JsonObject;
  name: string;
}

/** App and init containers (ephemeral containers cannot carry resources and are never touched). */
export function containersOf(spec: unknown): ContainerRef[] {
  const out: ContainerRef[] = [];
  if (!isObject(spec)) return out;
  for (const list of ['containers', 'initContainers'] as const) {
    const arr = spec[list];
    if (!Array.isArray(arr)) continue;
    arr.forEach((c, index) => {
      if (isObject(c)) out.push({ list, index, container: c, name: typeof c.name === 'string' ? c.name : `#${index}` });
    });
  }
  return out;
}
