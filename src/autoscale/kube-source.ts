import { AppsV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../kube/client.js';
import { isActivePod, podEpcRequestBytes, type PodLike } from '../kube/pod-requests.js';
import { badRequest, notFound } from './errors.js';
import type { ClusterSource, PodView } from './custom-metrics.js';
import { GROUP } from './custom-metrics.js';
import { selectorString, type LabelSelector } from './label-selector.js';
import type { RemoteUser, RequestAttributes } from './server.js';

function view(p: PodLike): PodView {
  return { namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '', uid: p.metadata?.uid ?? '', requestBytes: podEpcRequestBytes(p) };
}

/** The API server's 400 and 404 are the caller's mistake and keep their status; the rest is ours (503). */
function rethrow(e: unknown, what: string): never {
  const code = (e as { code?: unknown }).code;
  if (code === 400 || code === 422) throw badRequest(`${what}: ${describeKubeError(e)}`);
  if (code === 404) throw notFound(`${what}: not found`);
  throw new Error(`${what}: ${describeKubeError(e)}`);
}

/**
 * Pods and workload selectors read from the API server per request: one list of the namespace's pods with the
 * HPA's selector, served from the API server's watch cache (resourceVersion=0), so nothing is cached here
 * that could disagree with the ReplicaSet the HPA scales.
 */
export class KubeClusterSource implements ClusterSource {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodView[]> {
    try {
      const list = await this.core.listNamespacedPod({ namespace, labelSelector, resourceVersion: '0' });
      return (list.items as unknown as PodLike[]).filter(isActivePod).map(view);
    } catch (e) {
      return rethrow(e, `pods in ${namespace} (labelSelector ${JSON.stringify(labelSelector)})`);
    }
  }

  async objectPods(namespace: string, resource: string, name: string): Promise<PodView[]> {
    let selector: LabelSelector | undefined;
    try {
      switch (resource) {
        case 'pods': {
          const p = (await this.core.readNamespacedPod({ namespace, name })) as unknown as PodLike;
          return isActivePod(p) ? [view(p)] : [];
        }
        case 'deployments.apps': selector = (await this.apps.readNamespacedDeployment({ namespace, name })).spec?.selector as LabelSelector; break;
        case 'statefulsets.apps': selector = (await this.apps.readNamespacedStatefulSet({ namespace, name })).spec?.selector as LabelSelector; break;
        case 'replicasets.apps': selector = (await this.apps.readNamespacedReplicaSet({ namespace, name })).spec?.selector as LabelSelector; break;
        case 'daemonsets.apps': selector = (await this.apps.readNamespacedDaemonSet({ namespace, name })).spec?.selector as LabelSelector; break;
        case 'jobs.batch': selector = (await this.batch.readNamespacedJob({ namespace, name })).spec?.selector as LabelSelector; break;
        default: throw notFound(`resource ${resource} has no EPC metrics`);
      }
    } catch (e) {
      if (e instanceof Error && 'status' in e) throw e;
      return rethrow(e, `${resource} ${namespace}/${name}`);
    }
    // A workload without a selector would select every pod of the namespace: refuse instead of summing them.
    if (!selector || (!selector.matchLabels && !selector.matchExpressions?.length)) throw badRequest(`${resource} ${namespace}/${name} has no pod selector`);
    return this.listPods(namespace, selectorString(selector));
  }
}

/**
 * Delegated authorization, as aggregated API servers do it: a SubjectAccessReview for the proxied user, with
 * decisions kept for `ttlMs` (the HPA asks every sync period with the same attributes).
 */
export function subjectAccessReviewer(kc: KubeConfig, ttlMs = 10_000, now = Date.now): (user: RemoteUser, a: RequestAttributes) => Promise<boolean> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const cache = new Map<string, { at: number; allowed: boolean }>();
  return async (user, a) => {
    const spec = a.resource
      ? { user: user.name, groups: user.groups, resourceAttributes: { group: GROUP, verb: 'get', namespace: a.namespace, resource: a.resource, name: a.name, subresource: a.subresource } }
      : { user: user.name, groups: user.groups, nonResourceAttributes: { path: a.path, verb: 'get' } };
    const key = JSON.stringify(spec);
    const hit = cache.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.allowed;
    const r = await api.createSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec } });
    const allowed = r.status?.allowed === true;
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { at: now(), allowed });
    return allowed;
  };
}
