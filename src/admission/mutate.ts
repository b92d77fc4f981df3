import { parseQuantity } from '../node/quantity.js';
import { ConfkubeError } from '../lib/errors.js';
import {
  AESMD_DIR,
  AESMD_VOLUME,
  AESM_ENV,
  ANNOTATION_QUOTE_PROVIDER,
  ANNOTATION_SGX,
  ENCLAVE_RESOURCE,
  EPC_ALIASES_MIB,
  EPC_RESOURCE,
  INTEL_ANNOTATION_QUOTE_PROVIDER,
  PROVISION_RESOURCE,
  QUOTE_PROVIDER_AESMD,
} from './names.js';
import { containersOf, isObject, pointer, type ContainerRef, type Json, type JsonObject } from './pod-spec.js';

export interface PatchOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: Json;
}

export interface Toleration {
  key: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface MutateOptions {
  /** A toleration added to SGX pods when the cluster taints its SGX pool. */
  sgxToleration?: Toleration | null;
}

export interface PodPlan {
  /** The pod asks for SGX (an EPC name in any container, or the confkube.io/sgx annotation). */
  sgx: boolean;
  ops: PatchOp[];
  warnings: string[];
  /** Reasons to reject: the pod asks for SGX in a way that cannot work. */
  denials: string[];
  /** EPC the pod needs on one node: max(sum of app containers, largest init container), bytes. */
  epcBytes: number;
  enclaveContainers: string[];
}

const SHELLS = /(^|\/)(sh|bash|ash|dash|zsh|ksh)$/;
const FORK_PATTERNS = /&&|\|\||[|;&]\s*\S|\$\(|`|\bnohup\b|\bxargs\b|\bexec\b/;

/** Bytes of one EPC entry; aliases are whole MiB counts (spec k8s-sgx.md §0). */
function epcValue(name: string, raw: Json, where: string): { bytes: number; error?: string } {
  if (typeof raw !== 'string' && typeof raw !== 'number') return { bytes: 0, error: `${where}: ${name} must be a quantity, got ${JSON.stringify(raw)}` };
  let n: number;
  try {
    n = parseQuantity(raw);
  } catch (e) {
    return { bytes: 0, error: `${where}: ${name}: ${(e as ConfkubeError).message}` };
  }
  if (name === EPC_RESOURCE) return { bytes: Math.ceil(n) };
  if (!Number.isInteger(n)) return { bytes: 0, error: `${where}: ${name} counts whole MiB, got ${JSON.stringify(raw)}` };
  return { bytes: n * 2 ** 20 };
}

/** Kubernetes' own rendering of a byte count: the largest binary suffix that divides it. */
export function formatBytes(bytes: number): string {
  for (const [suf, f] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suf}`;
  }
  return String(bytes);
}

interface ContainerEpc {
  ref: ContainerRef;
  bytes: number;
  names: Set<string>;
}

function containerEpc(ref: ContainerRef, base: (string | number)[], plan: PodPlan): ContainerEpc | null {
  const res = ref.container.resources;
  if (!isObject(res)) return null;
  const where = `${ref.list === 'initContainers' ? 'init container' : 'container'} "${ref.name}"`;
  const perMap: Record<string, number | null> = { limits: null, requests: null };
  const names = new Set<string>();
  for (const m of ['limits', 'requests'] as const) {
    const map = res[m];
    if (!isObject(map)) continue;
    const given = [EPC_RESOURCE, ...EPC_ALIASES_MIB].filter((n) => map[n] !== undefined && map[n] !== null);
    if (given.length === 0) continue;
    const values = given.map((n) => ({ n, ...epcValue(n, map[n], `${where} ${m}`) }));
    for (const v of values) {
      names.add(v.n);
      if (v.error) plan.denials.push(v.error);
    }
    if (values.some((v) => v.error)) continue;
    if (new Set(values.map((v) => v.bytes)).size > 1) {
      plan.denials.push(`${where} ${m}: ${given.join(', ')} ask for different EPC sizes (${values.map((v) => formatBytes(v.bytes)).join(' vs ')})`);
      continue;
    }
    perMap[m] = values[0].bytes;
    // Aliases become the canonical name in bytes; the canonical entry, if present and equal, is kept as is.
    for (const v of values) {
      if (v.n === EPC_RESOURCE) continue;
      plan.ops.push({ op: 'remove', path: pointer([...base, ref.list, ref.index, 'resources', m, v.n]) });
    }
    if (!given.includes(EPC_RESOURCE)) {
      plan.ops.push({ op: 'add', path: pointer([...base, ref.list, ref.index, 'resources', m, EPC_RESOURCE]), value: formatBytes(values[0].bytes) });
    }
  }
  if (names.size === 0) return null;
  if (perMap.limits !== null && perMap.requests !== null && perMap.limits !== perMap.requests) {
    plan.denials.push(`${where}: EPC request ${formatBytes(perMap.requests)} differs from its limit ${formatBytes(perMap.limits)}; extended resources need requests equal to limits`);
  }
  return { ref, bytes: perMap.limits ?? perMap.requests ?? 0, names };
}

function hasResource(c: JsonObject, m: 'limits' | 'requests', name: string): boolean {
  const res = c.resources;
  return isObject(res) && isObject(res[m]) && (res[m] as JsonObject)[name] !== undefined;
}

/** Add `name: "1"` to limits, and to requests when the container has a requests map (else the API server defaults it from limits). */
function addDevice(ref: ContainerRef, base: (string | number)[], name: string, plan: PodPlan): void {
  const c = ref.container;
  const res = c.resources;
  const path = (...p: (string | number)[]) => pointer([...base, ref.list, ref.index, ...p]);
  if (!isObject(res)) {
    plan.ops.push({ op: 'add', path: path('resources'), value: { limits: { [name]: '1' } } });
    return;
  }
  for (const m of ['limits', 'requests'] as const) {
    if (hasResource(c, m, name)) continue;
    if (isObject(res[m])) plan.ops.push({ op: 'add', path: path('resources', m, name), value: '1' });
    else if (m === 'limits') plan.ops.push({ op: 'add', path: path('resources', 'limits'), value: { [name]: '1' } });
  }
}

function addAesmd(ref: ContainerRef, base: (string | number)[], plan: PodPlan): void {
  const c = ref.container;
  const path = (...p: (string | number)[]) => pointer([...base, ref.list, ref.index, ...p]);
  const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts : null;
  const mounted = mounts?.some((m) => isObject(m) && (m.mountPath === AESMD_DIR || m.name === AESMD_VOLUME));
  const mount = { name: AESMD_VOLUME, mountPath: AESMD_DIR };
  if (!mounted) plan.ops.push(mounts ? { op: 'add', path: path('volumeMounts', '-'), value: mount } : { op: 'add', path: path('volumeMounts'), value: [mount] });
  const env = Array.isArray(c.env) ? c.env : null;
  const hasEnv = env?.some((e) => isObject(e) && e.name === AESM_ENV);
  const entry = { name: AESM_ENV, value: '1' };
  if (!hasEnv) plan.ops.push(env ? { op: 'add', path: path('env', '-'), value: entry } : { op: 'add', path: path('env'), value: [entry] });
}

function forkWarning(ref: ContainerRef): string | null {
  const words = [...(Array.isArray(ref.container.command) ? ref.container.command : []), ...(Array.isArray(ref.container.args) ? ref.container.args : [])].filter((w): w is string => typeof w === 'string');
  if (words.length === 0) return null;
  const shell = SHELLS.test(words[0]) && words.includes('-c');
  const joined = words.join(' ');
  if (shell || FORK_PATTERNS.test(joined)) {
    return `container "${ref.name}" runs a shell or several processes (${JSON.stringify(joined.slice(0, 80))}): SGX enclaves are single-process (AKS FAQ); fork/exec needs a runtime that supports it (e.g. Gramine)`;
  }
  return null;
}

/**
 * What to change in one pod spec (at JSON Pointer `base`) so the YAML users write works: EPC aliases to
 * `sgx.intel.com/epc` in bytes, the enclave device on each EPC container, the provision device or the aesmd
 * socket per `confkube.io/quote-provider`, the SGX pool toleration. A pod that does not ask for SGX gets no
 * operation at all.
 */
export function planPod(spec: unknown, annotations: Record<string, string>, base: string[], options: MutateOptions = {}): PodPlan {
  const plan: PodPlan = { sgx: false, ops: [], warnings: [], denials: [], epcBytes: 0, enclaveContainers: [] };
  const refs = containersOf(spec);
  const epc = refs.map((r) => containerEpc(r, base, plan)).filter((x): x is ContainerEpc => x !== null);
  const annotated = (annotations[ANNOTATION_SGX] ?? '').toLowerCase() === 'true';
  if (epc.length === 0 && !annotated) {
    // Not an SGX pod: nothing is changed. (containerEpc only records operations for EPC entries.)
    return { ...plan, ops: [], denials: [], warnings: [] };
  }
  plan.sgx = true;
  const appBytes = epc.filter((e) => e.ref.list === 'containers').reduce((s, e) => s + e.bytes, 0);
  const initBytes = Math.max(0, ...epc.filter((e) => e.ref.list === 'initContainers').map((e) => e.bytes));
  plan.epcBytes = Math.max(appBytes, initBytes);

  const enclaves: ContainerRef[] = epc.length > 0 ? epc.map((e) => e.ref) : refs.filter((r) => r.list === 'containers');
  for (const ref of enclaves) {
    addDevice(ref, base, ENCLAVE_RESOURCE, plan);
    plan.enclaveContainers.push(ref.name);
    const w = forkWarning(ref);
    if (w) plan.warnings.push(w);
  }

  const provider = annotations[ANNOTATION_QUOTE_PROVIDER] ?? annotations[INTEL_ANNOTATION_QUOTE_PROVIDER];
  if (provider !== undefined && provider !== '') {
    if (provider === QUOTE_PROVIDER_AESMD) {
      for (const ref of enclaves) addAesmd(ref, base, plan);
      const volumes = isObject(spec) && Array.isArray(spec.volumes) ? spec.volumes : null;
      if (!volumes?.some((v) => isObject(v) && v.name === AESMD_VOLUME)) {
        const vol = { name: AESMD_VOLUME, hostPath: { path: AESMD_DIR, type: 'DirectoryOrCreate' } };
        plan.ops.push(volumes ? { op: 'add', path: pointer([...base, 'volumes', '-']), value: vol } : { op: 'add', path: pointer([...base, 'volumes']), value: [vol] });
      }
    } else {
      const ref = refs.find((r) => r.name === provider);
      if (!ref) plan.denials.push(`${ANNOTATION_QUOTE_PROVIDER} names container "${provider}", which the pod does not have (use a container name for in-process quoting, or "aesmd")`);
      else addDevice(ref, base, PROVISION_RESOURCE, plan);
    }
  }

  const tol = options.sgxToleration;
  if (tol) {
    const tolerations = isObject(spec) && Array.isArray(spec.tolerations) ? spec.tolerations : null;
    const has = tolerations?.some((t) => isObject(t) && t.key === tol.key && (t.effect === undefined || t.effect === null || t.effect === tol.effect));
    const value: JsonObject = { key: tol.key, operator: tol.operator ?? (tol.value !== undefined ? 'Equal' : 'Exists') };
    if (tol.value !== undefined) value.value = tol.value;
    if (tol.effect !== undefined) value.effect = tol.effect;
    if (!has) plan.ops.push(tolerations ? { op: 'add', path: pointer([...base, 'tolerations', '-']), value } : { op: 'add', path: pointer([...base, 'tolerations']), value: [value] });
  }
  return plan;
}
