import { badRequest, notFound } from './errors.js';
import { matches, parseSelector, toLabelSelector, type LabelSelector } from './label-selector.js';
import type { TimedSample } from './gather.js';

/**
 * custom.metrics.k8s.io v1beta2 and v1beta1 as the HPA controller's REST metrics client calls them
 * (docs/autoscale.md §Custom metrics API): discovery, `namespaces/{ns}/pods/*\/{metric}?labelSelector=` for
 * Pods metrics, `namespaces/{ns}/{resource}/{name}/{metric}` for Object metrics.
 */
export const GROUP = 'custom.metrics.k8s.io';
export const VERSIONS = ['v1beta2', 'v1beta1'] as const;
export type Version = (typeof VERSIONS)[number];

export const METRICS = {
  /** EPC the pod uses: its cgroup's misc.current sgx_epc, else its enclave mappings (bytes). */
  used: 'sgx_epc_used_bytes',
  /** The pod's effective sgx.intel.com/epc request (bytes). */
  requested: 'sgx_epc_requested_bytes',
  /** used ÷ requested, as a quantity (500m = half the request). */
  utilization: 'sgx_epc_utilization',
} as const;
const METRIC_NAMES: string[] = Object.values(METRICS);

/** Workloads whose selector names the pods an Object metric sums over: resource → kind and API version. */
export const OBJECT_RESOURCES: Record<string, { kind: string; apiVersion: string }> = {
  pods: { kind: 'Pod', apiVersion: 'v1' },
  'deployments.apps': { kind: 'Deployment', apiVersion: 'apps/v1' },
  'statefulsets.apps': { kind: 'StatefulSet', apiVersion: 'apps/v1' },
  'replicasets.apps': { kind: 'ReplicaSet', apiVersion: 'apps/v1' },
  'daemonsets.apps': { kind: 'DaemonSet', apiVersion: 'apps/v1' },
  'jobs.batch': { kind: 'Job', apiVersion: 'batch/v1' },
};

export interface PodView {
  namespace: string;
  name: string;
  uid: string;
  requestBytes: number;
}

/** What the API needs of the cluster; the API server's own errors come back as MetricsRequestError. */
export interface ClusterSource {
  /** Active pods of the namespace that the selector (string form, already validated) selects. */
  listPods(namespace: string, labelSelector: string): Promise<PodView[]>;
  /** The pods an object stands for: a pod itself, or a workload's spec.selector. */
  objectPods(namespace: string, resource: string, name: string): Promise<PodView[]>;
}

export interface SampleSource {
  get(podUid: string): TimedSample | undefined;
}

export interface ApiDeps {
  cluster: ClusterSource;
  samples: SampleSource;
  /** The window the values cover: the gathering interval (s). */
  windowSeconds: number;
  now?: () => number;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
}

interface Value {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  at: number;
  /** The quantity's string form. */
  value: string;
}

const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function status(code: number, reason: string, message: string): ApiAnswer {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } };
}

export function apiGroup(): unknown {
  const versions = VERSIONS.map((version) => ({ groupVersion: `${GROUP}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: GROUP, versions, preferredVersion: versions[0] };
}

export function resourceList(version: Version): unknown {
  const resources = Object.keys(OBJECT_RESOURCES).flatMap((r) => METRIC_NAMES.map((m) => ({
    name: `${r}/${m}`, singularName: '', namespaced: true, kind: 'MetricValueList', verbs: ['get'],
  })));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${GROUP}/${version}`, resources };
}

/** One pod's value of a metric as a number (utilisation as a ratio); null where the pod has none. */
export function podNumber(metric: string, pod: PodView, s: TimedSample | undefined): number | null {
  if (metric === METRICS.requested) return pod.requestBytes;
  if (!s) return null;
  const used = s.cgroupBytes ?? s.mappedBytes;
  if (metric === METRICS.used) return used;
  return pod.requestBytes > 0 ? used / pod.requestBytes : null;
}

function podValue(metric: string, pod: PodView, s: TimedSample | undefined): { at: number; value: string } | null {
  const n = podNumber(metric, pod, s);
  if (n === null) return null;
  return { at: s?.at ?? Date.now(), value: metric === METRICS.utilization ? milli(n) : String(n) };
}

/** A ratio as a quantity in thousandths, the unit the HPA compares averageValue in. */
export function milli(ratio: number): string {
  return `${Math.round(ratio * 1000)}m`;
}

function item(version: Version, metric: string, selector: LabelSelector | null, windowSeconds: number, v: Value): unknown {
  const describedObject = { kind: v.kind, namespace: v.namespace, name: v.name, apiVersion: v.apiVersion };
  if (version === 'v1beta2') {
    return { describedObject, metric: { name: metric, selector }, timestamp: time(v.at), windowSeconds, value: v.value };
  }
  return { describedObject, metricName: metric, timestamp: time(v.at), window: windowSeconds, value: v.value, selector };
}

function list(version: Version, items: unknown[]): unknown {
  return { kind: 'MetricValueList', apiVersion: `${GROUP}/${version}`, metadata: {}, items };
}

/** Answers one GET under /apis/custom.metrics.k8s.io; bad requests become 400/404 Status bodies. */
export async function handleMetrics(path: string, query: URLSearchParams, deps: ApiDeps): Promise<ApiAnswer> {
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] !== 'apis' || parts[1] !== GROUP) return status(404, 'NotFound', `${path}: not a ${GROUP} path`);
  if (parts.length === 2) return { status: 200, body: apiGroup() };
  const version = parts[2] as Version;
  if (!VERSIONS.includes(version)) return status(404, 'NotFound', `${GROUP}/${parts[2]} is not served (served: ${VERSIONS.join(', ')})`);
  if (parts.length === 3) return { status: 200, body: resourceList(version) };
  if (parts[3] !== 'namespaces' || parts.length !== 8) {
    return status(404, 'NotFound', `${path}: expected /apis/${GROUP}/${version}/namespaces/{namespace}/{resource}/{name|*}/{metric}`);
  }
  const [, , , , namespace, resource, name, metric] = parts as [string, string, string, string, string, string, string, string];
  if (!METRIC_NAMES.includes(metric)) return status(404, 'NotFound', `the server could not find the metric ${metric} for ${resource} (served: ${METRIC_NAMES.join(', ')})`);
  const target = OBJECT_RESOURCES[resource];
  if (!target) return status(404, 'NotFound', `resource ${resource} has no EPC metrics (served: ${Object.keys(OBJECT_RESOURCES).join(', ')})`);
  const metricReqs = parseSelector(query.get('metricLabelSelector') ?? '', 'metricLabelSelector');
  const metricSelector = metricReqs.length ? toLabelSelector(metricReqs) : null;
  // EPC series carry no labels of their own: a metric selector keeps them only if it accepts an empty label set.
  const metricMatches = matches(metricReqs, {});
  const windowSeconds = deps.windowSeconds;

  if (name === '*') {
    if (resource !== 'pods') return status(404, 'NotFound', `${resource}/*: only pods are listed by selector`);
    const selector = query.get('labelSelector') ?? '';
    parseSelector(selector, 'labelSelector');
    const pods = await deps.cluster.listPods(namespace, selector);
    const items: unknown[] = [];
    if (metricMatches) {
      for (const pod of pods) {
        const v = podValue(metric, pod, deps.samples.get(pod.uid));
        if (v) items.push(item(version, metric, metricSelector, windowSeconds, { ...target, namespace, name: pod.name, ...v }));
      }
    }
    return { status: 200, body: list(version, items) };
  }

  if (query.has('labelSelector')) throw badRequest(`labelSelector applies to ${resource}/* only, not to ${resource}/${name}`);
  const pods = await deps.cluster.objectPods(namespace, resource, name);
  if (!metricMatches) return { status: 200, body: list(version, []) };
  const v = objectValue(metric, pods, deps.samples);
  if (!v) throw notFound(`no EPC samples yet for ${resource} ${namespace}/${name} (${pods.length} pods)`);
  return { status: 200, body: list(version, [item(version, metric, metricSelector, windowSeconds, { ...target, namespace, name, ...v })]) };
}

/** An object's value over its pods: bytes add up; utilisation is total used over total requested. */
function objectValue(metric: string, pods: PodView[], samples: SampleSource): { at: number; value: string } | null {
  let used = 0;
  let requested = 0;
  let requestedSampled = 0;
  let at = 0;
  let seen = 0;
  for (const p of pods) {
    requested += p.requestBytes;
    const s = samples.get(p.uid);
    if (!s) continue;
    seen++;
    used += s.cgroupBytes ?? s.mappedBytes;
    requestedSampled += p.requestBytes;
    at = Math.max(at, s.at);
  }
  if (metric === METRICS.requested) return { at: at || Date.now(), value: String(requested) };
  if (seen === 0) return null;
  if (metric === METRICS.used) return { at, value: String(used) };
  // Pods without a sample yet are left out of both sides rather than counted as idle.
  return requestedSampled > 0 ? { at, value: milli(used / requestedSampled) } : null;
}
