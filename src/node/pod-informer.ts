import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { BackoffOptions } from '../kube/backoff.js';
import { Informer } from '../kube/informer.js';
import type { PodLike } from '../kube/pod-requests.js';
import type { Logger } from '../lib/log.js';

type Pod = PodLike & { apiVersion?: string; kind?: string; metadata?: { resourceVersion?: string } };

/** What the agent reads of a Pod: names, UID, container resources, phase and container IDs. */
function slim(p: Pod): Pod {
  const c = (x: { name?: string; restartPolicy?: string; resources?: unknown }) => ({ name: x.name, restartPolicy: x.restartPolicy, resources: x.resources });
  const st = p.status as { phase?: string; containerStatuses?: { name?: string; containerID?: string }[]; initContainerStatuses?: { name?: string; containerID?: string }[] } | undefined;
  const s = (x: { name?: string; containerID?: string }) => ({ name: x.name, containerID: x.containerID });
  return {
    metadata: { name: p.metadata?.name, namespace: p.metadata?.namespace, uid: p.metadata?.uid, resourceVersion: p.metadata?.resourceVersion },
    spec: { nodeName: p.spec?.nodeName, containers: p.spec?.containers?.map(c), initContainers: p.spec?.initContainers?.map(c) },
    status: { phase: st?.phase, containerStatuses: st?.containerStatuses?.map(s), initContainerStatuses: st?.initContainerStatuses?.map(s) } as Pod['status'],
  } as Pod;
}

/** Pods bound to `nodeName` (field selector spec.nodeName), listed once and then watched. */
export function nodePodInformer(kc: KubeConfig, nodeName: string, o: { backoff?: BackoffOptions; logger?: Logger; watchTimeoutSeconds?: number } = {}): Informer<PodLike & { metadata?: object }> {
  const api = kc.makeApiClient(CoreV1Api);
  return new Informer<Pod & { metadata?: object }>({
    kubeConfig: kc,
    name: 'apiserver-pod-watch',
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${nodeName}`,
    list: (page) => api.listPodForAllNamespaces(page) as never,
    transform: slim,
    backoff: o.backoff,
    logger: o.logger,
    watchTimeoutSeconds: o.watchTimeoutSeconds,
  });
}
