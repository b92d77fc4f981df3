import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../kube/client.js';
import { AutoscaleConfigError } from './errors.js';
import type { AgentTarget } from './gather.js';

export interface RequestHeaderConfig {
  clientCa: string;
  allowedNames: string[];
  usernameHeaders: string[];
  groupHeaders: string[];
}

function jsonList(v: string | undefined, key: string): string[] | undefined {
  if (v === undefined || v === '') return undefined;
  try {
    const a = JSON.parse(v) as unknown;
    if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a as string[];
  } catch {
    // reported below
  }
  throw new AutoscaleConfigError(`kube-system/extension-apiserver-authentication: ${key} is not a JSON list of strings`);
}

/**
 * The requestheader settings kube-apiserver publishes for aggregated API servers in
 * kube-system/extension-apiserver-authentication (readable with the extension-apiserver-authentication-reader
 * Role); flags given explicitly win (docs/autoscale.md §Authentication).
 */
export async function requestHeaderConfig(kc: KubeConfig, given: { clientCa?: string; allowedNames?: string[] }): Promise<RequestHeaderConfig> {
  let data: Record<string, string> = {};
  if (!given.clientCa || !given.allowedNames) {
    try {
      const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'kube-system', name: 'extension-apiserver-authentication' });
      data = cm.data ?? {};
    } catch (e) {
      throw new AutoscaleConfigError(`cannot read kube-system/extension-apiserver-authentication: ${describeKubeError(e)}`);
    }
  }
  const clientCa = given.clientCa ?? data['requestheader-client-ca-file'];
  if (!clientCa?.includes('BEGIN CERTIFICATE')) {
    throw new AutoscaleConfigError('no requestheader client CA: kube-apiserver runs without --requestheader-client-ca-file, so the aggregator cannot be authenticated');
  }
  return {
    clientCa,
    allowedNames: given.allowedNames ?? jsonList(data['requestheader-allowed-names'], 'requestheader-allowed-names') ?? [],
    usernameHeaders: jsonList(data['requestheader-username-headers'], 'requestheader-username-headers') ?? ['X-Remote-User'],
    groupHeaders: jsonList(data['requestheader-group-headers'], 'requestheader-group-headers') ?? ['X-Remote-Group'],
  };
}

/** The node agents to read: their Running pods, at pod IP and metrics port, named by node. */
export async function agentPodTargets(kc: KubeConfig, namespace: string, labelSelector: string, port: number): Promise<AgentTarget[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector, resourceVersion: '0' });
  return list.items
    .filter((p) => p.status?.phase === 'Running' && p.status.podIP)
    .map((p) => {
      const ip = p.status!.podIP!;
      return { name: p.spec?.nodeName ?? p.metadata?.name ?? ip, url: `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}/metrics` };
    });
}
