import { KubeConfig } from '@kubernetes/client-node';

/**
 * Kubernetes client configuration: an explicit kubeconfig file, else in-cluster (the pod's
 * service account), else the default kubeconfig ($KUBECONFIG, ~/.kube/config).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** A one-line reason from a client-node error (ApiException carries the HTTP code and a Status body). */
export function describeKubeError(e: unknown): string {
  const err = e as { code?: unknown; body?: unknown; message?: string; statusCode?: unknown };
  const code = typeof err.code === 'number' ? err.code : typeof err.statusCode === 'number' ? err.statusCode : undefined;
  let msg = err.message ?? String(e);
  if (typeof err.body === 'string') {
    try {
      const s = JSON.parse(err.body) as { message?: string };
      if (s.message) msg = s.message;
    } catch {
      // not a Status body
    }
  } else if (err.body && typeof err.body === 'object' && 'message' in err.body) {
    msg = String((err.body as { message: unknown }).message);
  }
  return code !== undefined ? `HTTP ${code}: ${msg}` : msg.split('\n')[0];
}
