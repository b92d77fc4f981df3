// Real confkube processes standing in for the pods the chart creates. There is no container runtime here, so for
// a pod that the simulated kubelet marked Running, the harness runs the pod's own container command (its args
// from the API server, its env resolved as the kubelet would) as a process on this machine, with the pod's
// mounts mapped to local folders and the pod's own ServiceAccount token (a TokenRequest bound to the pod, as the
// kubelet's projected token is). Processes that the API server must reach (Services, webhooks) run inside the
// pod network at the pod's IP (docs/e2e.md §Stand-ins).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Api, Json } from './api.js';
import type { ControlPlane } from './control-plane.js';
import { tokenKubeconfig } from './pki.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CONFKUBE_CLI = join(ROOT, 'src/cli/main.ts');

export interface PodLike {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    containers: { name: string; args?: string[]; command?: string[]; env?: EnvVar[]; volumeMounts?: { name: string; mountPath: string }[] }[];
    volumes?: { name: string; secret?: { secretName: string } }[];
  };
  status?: { podIP?: string; phase?: string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}

/** The first Running pod with these labels (label selector syntax), waiting for it. */
export async function runningPod(api: Api, namespace: string, selector: string, node?: string): Promise<PodLike> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const list = (await api.get(`/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(selector)}`)) as { items: PodLike[] };
    const pod = list.items.find((p) => p.status?.phase === 'Running' && (!node || p.spec.nodeName === node));
    if (pod) return pod;
    if (Date.now() > deadline) throw new Error(`no Running pod ${selector}${node ? ` on ${node}` : ''} in ${namespace}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A token for the pod's ServiceAccount, bound to the pod (and through it to its node), as the kubelet asks for. */
export async function podToken(api: Api, pod: PodLike): Promise<string> {
  const sa = pod.spec.serviceAccountName ?? 'default';
  const r = await api.post(`/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
    spec: {
      audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 3600,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
    },
  });
  return (r.status as { token: string }).token;
}

/** The Secret's keys written as files into `dir` (a secret volume). */
export async function secretVolume(api: Api, namespace: string, name: string, dir: string): Promise<void> {
  const s = (await api.get(`/api/v1/namespaces/${namespace}/secrets/${name}`)) as { data?: Record<string, string> };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [k, v] of Object.entries(s.data ?? {})) writeFileSync(join(dir, k), Buffer.from(v, 'base64'), { mode: 0o600 });
}

async function resolveEnv(api: Api, pod: PodLike, env: EnvVar[] | undefined): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) {
      const f = e.valueFrom.fieldRef.fieldPath;
      const v = f === 'spec.nodeName' ? pod.spec.nodeName : f === 'metadata.name' ? pod.metadata.name
        : f === 'metadata.namespace' ? pod.metadata.namespace : f === 'status.podIP' ? pod.status?.podIP : undefined;
      if (v === undefined) throw new Error(`stand-in: unsupported fieldRef ${f}`);
      out[e.name] = v;
    } else if (e.valueFrom?.secretKeyRef) {
      const s = (await api.get(`/api/v1/namespaces/${pod.metadata.namespace}/secrets/${e.valueFrom.secretKeyRef.name}`)) as { data: Record<string, string> };
      out[e.name] = Buffer.from(s.data[e.valueFrom.secretKeyRef.key]!, 'base64').toString('utf8');
    }
  }
  return out;
}

export interface StandInOptions {
  /** Container path prefix → local folder (the pod's mounts). Longest prefix wins. Secret volumes are added. */
  mounts: Record<string, string>;
  /** Where the pod's Secret volumes are written (one folder per volume). */
  scratch: string;
  /** Run inside the pod network at the pod's IP (reachable by the API server). */
  inPodNetwork: boolean;
  /** Args added after the pod's own (for example a short interval for a test). */
  extraArgs?: string[];
  /** The container, when the pod has several. */
  container?: string;
}

/** Rewrites container paths in an argument to the local folders standing in for the mounts. */
export function mapPaths(arg: string, mounts: Record<string, string>): string {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  return arg.replace(/(^|=|:)(\/[^\s,:=]*)/g, (m, sep: string, path: string) => {
    const p = prefixes.find((x) => path === x || path.startsWith(`${x}/`));
    return p ? `${sep}${mounts[p]}${path.slice(p.length)}` : m;
  });
}

/**
 * Runs the pod's container command as a local process. The pod's ServiceAccount token goes into a kubeconfig
 * (the in-cluster config a pod would build from its projected token), passed as $KUBECONFIG.
 */
export async function startStandIn(cp: ControlPlane, api: Api, pod: PodLike, name: string, o: StandInOptions) {
  const container = o.container ? pod.spec.containers.find((c) => c.name === o.container) : pod.spec.containers[0];
  if (!container) throw new Error(`stand-in: pod ${pod.metadata.name} has no container ${o.container}`);
  if (container.command?.length) throw new Error('stand-in: the image entrypoint is confkube; a command override is not expected');
  // Secret volumes, as the kubelet mounts them: the Secret's keys as files.
  const mounts = { ...o.mounts };
  for (const m of container.volumeMounts ?? []) {
    const secret = pod.spec.volumes?.find((v) => v.name === m.name)?.secret;
    if (!secret || mounts[m.mountPath]) continue;
    const dir = join(o.scratch, `${name}-${m.name}`);
    await secretVolume(api, pod.metadata.namespace, secret.secretName, dir);
    mounts[m.mountPath] = dir;
  }
  const token = await podToken(api, pod);
  const kubeconfig = join(cp.dir, `${name}.kubeconfig`);
  writeFileSync(kubeconfig, tokenKubeconfig(o.inPodNetwork ? cp.podServer : cp.server, cp.pki.ca, name, token), { mode: 0o600 });
  const env = await resolveEnv(api, pod, container.env);
  const args = [...(container.args ?? []), ...(o.extraArgs ?? [])].map((a) => mapPaths(a, mounts));
  const child = cp.startProcess(name, process.execPath, ['--import', 'tsx', CONFKUBE_CLI, ...args], {
    inPodNetwork: o.inPodNetwork,
    env: { ...env, KUBECONFIG: kubeconfig, NODE_NO_WARNINGS: '1' },
  });
  return { child, kubeconfig, token, args, mounts };
}

export type { Json };
