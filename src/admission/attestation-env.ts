import { isObject, pointer, type ContainerRef, type Json, type JsonObject } from './pod-spec.js';
import type { PatchOp } from './mutate.js';

/**
 * Where enclave apps find the attestation service (docs/enclave-pods.md §Finding the service): two
 * environment variables the client library reads by default, and the service's CA from a ConfigMap of the
 * pod's namespace, mounted read-only.
 */
export const ATTESTATION_URL_ENV = 'CONFKUBE_ATTESTATION_URL';
export const ATTESTATION_CA_ENV = 'CONFKUBE_ATTESTATION_CA';
export const ATTESTATION_CA_DIR = '/var/run/confkube/attestation-ca';
export const ATTESTATION_CA_KEY = 'ca.crt';
export const ATTESTATION_CA_FILE = `${ATTESTATION_CA_DIR}/${ATTESTATION_CA_KEY}`;
export const ATTESTATION_CA_VOLUME = 'confkube-attestation-ca';
export const DEFAULT_ATTESTATION_CA_CONFIGMAP = 'confkube-attestation-ca';

export interface AttestationInjection {
  /** The service's base URL, e.g. https://confkube-attestation.confkube.svc. */
  url: string;
  /** The ConfigMap (in the pod's namespace) whose `ca.crt` is the CA that signs the service's certificate. */
  configMap: string;
  /** Namespaces whose SGX pods get the two variables and the CA; `*` is every namespace. */
  namespaces: readonly string[];
}

/** Whether pods of `namespace` get the injection: only namespaces where the CA ConfigMap is kept. */
export function injectsInto(injection: AttestationInjection, namespace: string): boolean {
  return injection.namespaces.includes('*') || injection.namespaces.includes(namespace);
}

function hasEnv(c: JsonObject, name: string): boolean {
  return Array.isArray(c.env) && c.env.some((e) => isObject(e) && e.name === name);
}

/**
 * The operations that give each enclave container the two variables and the CA mount. What the pod already
 * sets is kept: an `env` entry of the same name (the pod's own URL or CA path wins), a mount at the CA
 * directory, a volume of the same name. Running it on its own output adds nothing (reinvocation is safe).
 */
export function planAttestationEnv(spec: unknown, enclaves: readonly ContainerRef[], base: readonly string[], injection: AttestationInjection, pending: readonly PatchOp[] = []): PatchOp[] {
  const ops: PatchOp[] = [];
  // An earlier operation of the same patch (the aesmd mount and variable) may have created the list already.
  const created = (p: string) => pending.some((o) => o.op === 'add' && o.path === p);
  let mounted = false;
  for (const ref of enclaves) {
    const c = ref.container;
    const path = (...p: (string | number)[]) => pointer([...base, ref.list, ref.index, ...p]);
    const entries: Json[] = [];
    if (!hasEnv(c, ATTESTATION_URL_ENV)) entries.push({ name: ATTESTATION_URL_ENV, value: injection.url });
    if (!hasEnv(c, ATTESTATION_CA_ENV)) entries.push({ name: ATTESTATION_CA_ENV, value: ATTESTATION_CA_FILE });
    if (entries.length > 0) {
      if (Array.isArray(c.env) || created(path('env'))) for (const e of entries) ops.push({ op: 'add', path: path('env', '-'), value: e });
      else ops.push({ op: 'add', path: path('env'), value: entries });
    }
    const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts : null;
    if (mounts?.some((m) => isObject(m) && m.mountPath === ATTESTATION_CA_DIR)) continue;
    const mount: JsonObject = { name: ATTESTATION_CA_VOLUME, mountPath: ATTESTATION_CA_DIR, readOnly: true };
    ops.push(mounts || created(path('volumeMounts')) ? { op: 'add', path: path('volumeMounts', '-'), value: mount } : { op: 'add', path: path('volumeMounts'), value: [mount] });
    mounted = true;
  }
  const volumes = isObject(spec) && Array.isArray(spec.volumes) ? spec.volumes : null;
  if (mounted && !volumes?.some((v) => isObject(v) && v.name === ATTESTATION_CA_VOLUME)) {
    // Only the CA key, world-readable: the app may run as any user. Not optional: a namespace without the
    // ConfigMap keeps the pod in ContainerCreating with an event that names it, rather than starting an app
    // that cannot check the service's certificate.
    const vol: JsonObject = { name: ATTESTATION_CA_VOLUME, configMap: { name: injection.configMap, items: [{ key: ATTESTATION_CA_KEY, path: ATTESTATION_CA_KEY }], defaultMode: 0o444 } };
    ops.push(volumes || created(pointer([...base, 'volumes'])) ? { op: 'add', path: pointer([...base, 'volumes', '-']), value: vol } : { op: 'add', path: pointer([...base, 'volumes']), value: [vol] });
  }
  return ops;
}
