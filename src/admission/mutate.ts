import {
  AESMD_DIR,
  AESMD_VOLUME,
  AESM_ENV,
  ANNOTATION_MRSIGNER,
  ANNOTATION_QUOTE_PROVIDER,
  ANNOTATION_SGX,
  ANNOTATION_SIGSTRUCT,
  ENCLAVE_RESOURCE,
  EPC_ALIASES_MIB,
  EPC_RESOURCE,
  INTEL_ANNOTATION_QUOTE_PROVIDER,
  PROVISION_RESOURCE,
  QUOTE_PROVIDER_AESMD,
} from './names.js';
import { effectiveRequest } from '../kube/pod-requests.js';
import { planAttestationEnv, type AttestationInjection } from './attestation-env.js';
import { epcValue, formatBytes } from './epc-quantity.js';
import { containersOf, isObject, pointer, type ContainerRef, type Json, type JsonObject } from './pod-spec.js';

export { formatBytes } from './epc-quantity.js';

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
  /** The attestation service's URL and CA for the enclave containers (docs/enclave-pods.md §Finding the service); the caller decides the namespace. */
  attestation?: AttestationInjection | null;
}

export interface PodPlan {
  /** The pod asks for SGX: an EPC name, `sgx.intel.com/enclave` or `sgx.intel.com/provision` in any container, or a confkube.io/ annotation. */
  sgx: boolean;
  ops: PatchOp[];
  warnings: string[];
  /** Reasons to reject: the pod asks for SGX in a way that cannot work. */
  denials: string[];
  /** EPC the pod needs on one node, as the scheduler adds it up (native sidecars included), bytes. */
  epcBytes: number;
  enclaveContainers: string[];
}

const EPC_NAMES: readonly string[] = [EPC_RESOURCE, ...EPC_ALIASES_MIB];
/** Names that make a pod an SGX pod: EPC under any name, or the devices asked for directly. */
const SGX_NAMES: readonly string[] = [...EPC_NAMES, ENCLAVE_RESOURCE, PROVISION_RESOURCE];
const SHELLS = /(^|\/)(sh|bash|ash|dash|zsh|ksh)$/;
const FORK_PATTERNS = /&&|\|\||[|;&]\s*\S|\$\(|`|\bnohup\b|\bxargs\b|\bexec\b/;

type ResourceMap = Record<string, Json>;

/**
 * The resources one container should end with. Edits are collected per container and turned into patch
 * operations once, against the object as received, so that later edits (devices) see earlier ones (EPC) and
 * `add` never targets a map that is not there yet (docs/admission.md §JSON Patch).
 */
interface ResourceEdit {
  ref: ContainerRef;
  original: JsonObject | null;
  limits: ResourceMap | null;
  requests: ResourceMap | null;
}

function mapOf(res: JsonObject | null, m: 'limits' | 'requests'): ResourceMap | null {
  const v = res?.[m];
  return isObject(v) ? { ...v } : null;
}

function editFor(edits: Map<ContainerRef, ResourceEdit>, ref: ContainerRef): ResourceEdit {
  let e = edits.get(ref);
  if (!e) {
    const original = isObject(ref.container.resources) ? ref.container.resources : null;
    e = { ref, original, limits: mapOf(original, 'limits'), requests: mapOf(original, 'requests') };
    edits.set(ref, e);
  }
  return e;
}

function where(ref: ContainerRef): string {
  return `${ref.list === 'initContainers' ? 'init container' : 'container'} "${ref.name}"`;
}

/** Whether a container's limits or requests use one of `names` (no parsing: decides only whether the pod asks for SGX). */
function uses(ref: ContainerRef, names: readonly string[]): boolean {
  const res = ref.container.resources;
  if (!isObject(res)) return false;
  for (const m of ['limits', 'requests'] as const) {
    const map = res[m];
    if (isObject(map) && names.some((n) => map[n] !== undefined && map[n] !== null)) return true;
  }
  return false;
}

const namesEpc = (ref: ContainerRef): boolean => uses(ref, EPC_NAMES);

/**
 * Aliases become `sgx.intel.com/epc` in bytes in limits and requests alike; a canonical entry is kept as
 * written. Requests must equal limits for extended resources (docs/admission.md §EPC rewrite rules); an EPC request without a limit gets the
 * limit the API server would otherwise refuse the pod for lacking. Returns the container's EPC in bytes, null
 * when no entry could be read (the denial says why).
 */
function normaliseEpc(edit: ResourceEdit, plan: PodPlan): number | null {
  const w = where(edit.ref);
  const per: Record<'limits' | 'requests', number | null> = { limits: null, requests: null };
  for (const m of ['limits', 'requests'] as const) {
    const map = edit[m];
    if (!map) continue;
    const given = EPC_NAMES.filter((n) => map[n] !== undefined && map[n] !== null);
    if (given.length === 0) continue;
    const values = given.map((n) => ({ n, ...epcValue(n, map[n], `${w} ${m}`) }));
    const errors = values.filter((v) => v.error !== undefined);
    if (errors.length > 0) {
      for (const v of errors) plan.denials.push(v.error!);
      continue;
    }
    if (new Set(values.map((v) => v.bytes)).size > 1) {
      plan.denials.push(`${w} ${m}: ${given.join(', ')} ask for different EPC sizes (${values.map((v) => formatBytes(v.bytes)).join(' vs ')})`);
      continue;
    }
    per[m] = values[0].bytes;
    for (const n of EPC_ALIASES_MIB) delete map[n];
    // An alias of 0 is dropped, not rewritten: the container asks for no EPC (docs/kube-operations.md §EPC).
    if ((map[EPC_RESOURCE] === undefined || map[EPC_RESOURCE] === null) && values[0].bytes > 0) map[EPC_RESOURCE] = formatBytes(values[0].bytes);
  }
  if (per.limits !== null && per.requests !== null && per.limits !== per.requests) {
    plan.denials.push(`${w}: EPC request ${formatBytes(per.requests)} differs from its limit ${formatBytes(per.limits)}; extended resources need requests equal to limits`);
  }
  if (per.limits === null && per.requests !== null && edit.requests) {
    edit.limits = { ...(edit.limits ?? {}), [EPC_RESOURCE]: edit.requests[EPC_RESOURCE] };
    plan.warnings.push(`${w}: EPC limit set to the request (${formatBytes(per.requests)}): extended resources need a limit equal to the request`);
  }
  return per.limits ?? per.requests ?? null;
}

/** `name: "1"` in limits, and in requests when the container has a requests map (else they default from limits). */
function addDevice(edit: ResourceEdit, name: string): void {
  edit.limits = edit.limits ?? {};
  if (edit.limits[name] === undefined || edit.limits[name] === null) edit.limits[name] = edit.requests?.[name] ?? '1';
  if (edit.requests && (edit.requests[name] === undefined || edit.requests[name] === null)) edit.requests[name] = edit.limits[name];
}

/** The operations that turn the container's resources into the edited ones; nothing for what did not change. */
function emitResources(edit: ResourceEdit, base: readonly string[], ops: PatchOp[]): void {
  const at = (...p: (string | number)[]) => pointer([...base, edit.ref.list, edit.ref.index, 'resources', ...p]);
  if (!edit.original) {
    const value: JsonObject = {};
    if (edit.limits) value.limits = edit.limits;
    if (edit.requests) value.requests = edit.requests;
    if (Object.keys(value).length > 0) ops.push({ op: 'add', path: pointer([...base, edit.ref.list, edit.ref.index, 'resources']), value });
    return;
  }
  for (const m of ['limits', 'requests'] as const) {
    const want = edit[m];
    if (!want) continue;
    const had = edit.original[m];
    if (!isObject(had)) {
      ops.push({ op: 'add', path: at(m), value: want });
      continue;
    }
    for (const k of Object.keys(had)) if (!Object.hasOwn(want, k)) ops.push({ op: 'remove', path: at(m, k) });
    for (const [k, v] of Object.entries(want)) {
      if (!Object.hasOwn(had, k)) ops.push({ op: 'add', path: at(m, k), value: v });
      else if (had[k] !== v) ops.push({ op: 'replace', path: at(m, k), value: v });
    }
  }
}

function addAesmd(ref: ContainerRef, base: readonly string[], ops: PatchOp[], opts: { readOnly: boolean; env: boolean }): void {
  const c = ref.container;
  const path = (...p: (string | number)[]) => pointer([...base, ref.list, ref.index, ...p]);
  const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts : null;
  const mounted = mounts?.some((m) => isObject(m) && (m.mountPath === AESMD_DIR || m.name === AESMD_VOLUME));
  const mount: JsonObject = { name: AESMD_VOLUME, mountPath: AESMD_DIR, ...(opts.readOnly ? { readOnly: true } : {}) };
  if (!mounted) ops.push(mounts ? { op: 'add', path: path('volumeMounts', '-'), value: mount } : { op: 'add', path: path('volumeMounts'), value: [mount] });
  if (!opts.env) return;
  const env = Array.isArray(c.env) ? c.env : null;
  const hasEnv = env?.some((e) => isObject(e) && e.name === AESM_ENV);
  const entry = { name: AESM_ENV, value: '1' };
  if (!hasEnv) ops.push(env ? { op: 'add', path: path('env', '-'), value: entry } : { op: 'add', path: path('env'), value: [entry] });
}

/**
 * Out-of-process quoting through aesmd, in Intel's two modes (docs/kube-operations.md §aesmd):
 * - sidecar: the pod runs its own container named `aesmd` (an app container or a native sidecar). Its socket
 *   directory is an in-pod memory emptyDir shared with the enclave containers, and the sidecar gets the
 *   enclave and provisioning devices for the quoting enclaves. No host path: allowed under Pod Security
 *   "restricted".
 * - host: the node's aesmd, through a read-only hostPath of the directory with `type: Directory`, so a node
 *   without aesmd fails the pod at mount with an event instead of starting it against an empty directory.
 *   connect(2) on a socket works through a read-only mount. Needs a Pod Security exception (hostPath).
 */
function planAesmd(spec: unknown, refs: ContainerRef[], enclaves: ContainerRef[], edits: Map<ContainerRef, ResourceEdit>, base: readonly string[], extra: PatchOp[], plan: PodPlan): void {
  const sidecar = refs.find((r) => r.name === QUOTE_PROVIDER_AESMD && (r.list === 'containers' || r.container.restartPolicy === 'Always'));
  for (const ref of enclaves) if (ref !== sidecar) addAesmd(ref, base, extra, { readOnly: true, env: true });
  let vol: JsonObject;
  if (sidecar) {
    addAesmd(sidecar, base, extra, { readOnly: false, env: false });
    addDevice(editFor(edits, sidecar), ENCLAVE_RESOURCE);
    addDevice(editFor(edits, sidecar), PROVISION_RESOURCE);
    if (!namesEpc(sidecar)) plan.warnings.push(`the aesmd sidecar runs the quoting enclaves (QE, PCE) and asks for no ${EPC_RESOURCE}: the scheduler reserves none for them`);
    vol = { name: AESMD_VOLUME, emptyDir: { medium: 'Memory' } };
  } else {
    vol = { name: AESMD_VOLUME, hostPath: { path: AESMD_DIR, type: 'Directory' } };
  }
  const volumes = isObject(spec) && Array.isArray(spec.volumes) ? spec.volumes : null;
  if (!volumes?.some((v) => isObject(v) && v.name === AESMD_VOLUME)) {
    extra.push(volumes ? { op: 'add', path: pointer([...base, 'volumes', '-']), value: vol } : { op: 'add', path: pointer([...base, 'volumes']), value: [vol] });
  }
}

/** AKS FAQ: enclaves are single-process; a shell or fork/exec pattern in an enclave container is worth a warning. */
function forkWarning(ref: ContainerRef): string | null {
  const words = [...(Array.isArray(ref.container.command) ? ref.container.command : []), ...(Array.isArray(ref.container.args) ? ref.container.args : [])].filter(
    (w): w is string => typeof w === 'string',
  );
  if (words.length === 0) return null;
  const shell = SHELLS.test(words[0]) && words.includes('-c');
  const joined = words.join(' ');
  if (shell || FORK_PATTERNS.test(joined)) {
    return `container "${ref.name}" runs a shell or several processes (${JSON.stringify(joined.slice(0, 80))}): SGX enclaves are single-process (AKS FAQ); fork/exec needs a runtime that supports it (e.g. Gramine)`;
  }
  return null;
}

/** A confkube annotation that only makes sense on an enclave pod counts as asking for SGX. */
function annotatedSgx(annotations: Record<string, string>): boolean {
  if ((annotations[ANNOTATION_SGX] ?? '').toLowerCase() === 'true') return true;
  return [ANNOTATION_QUOTE_PROVIDER, ANNOTATION_MRSIGNER, ANNOTATION_SIGSTRUCT].some((a) => annotations[a] !== undefined);
}

/**
 * What to change in one pod spec (at JSON Pointer `base`) so the YAML users write works: EPC aliases to
 * `sgx.intel.com/epc` in bytes, the enclave device on each EPC container, the provision device or the aesmd
 * socket per `confkube.io/quote-provider`, the SGX pool toleration. A pod that does not ask for SGX gets no
 * operation, warning or denial at all, and is looked at no further than its resource names and annotations.
 */
export function planPod(spec: unknown, annotations: Record<string, string>, base: readonly string[], options: MutateOptions = {}): PodPlan {
  const plan: PodPlan = { sgx: false, ops: [], warnings: [], denials: [], epcBytes: 0, enclaveContainers: [] };
  const refs = containersOf(spec);
  const sgxRefs = refs.filter((r) => uses(r, SGX_NAMES));
  if (sgxRefs.length === 0 && !annotatedSgx(annotations)) return plan;
  plan.sgx = true;

  const edits = new Map<ContainerRef, ResourceEdit>();
  const bytes = new Map<ContainerRef, number>();
  for (const ref of refs.filter(namesEpc)) {
    const b = normaliseEpc(editFor(edits, ref), plan);
    if (b !== null) bytes.set(ref, b);
  }
  plan.epcBytes = effectiveRequest(refs.map((r) => ({ list: r.list, restartPolicy: typeof r.container.restartPolicy === 'string' ? r.container.restartPolicy : null, amount: bytes.get(r) ?? 0 })));

  // EPC of 0 means no enclave: no device, so nothing unaccounted for can run (docs/kube-operations.md §EPC).
  for (const [ref, b] of bytes) {
    if (b === 0) {
      plan.warnings.push(`${where(ref)} asks for 0 EPC: it gets no ${ENCLAVE_RESOURCE} and cannot create an enclave (the zero entry is dropped)`);
    }
  }
  const direct = (r: ContainerRef) => uses(r, [ENCLAVE_RESOURCE, PROVISION_RESOURCE]);
  let enclaves = refs.filter((r) => (bytes.get(r) ?? 0) > 0 || direct(r));
  for (const ref of enclaves) {
    if (!namesEpc(ref)) plan.warnings.push(`${where(ref)} asks for an SGX device directly without ${EPC_RESOURCE}: the scheduler reserves no EPC for its enclave`);
  }
  if (enclaves.length === 0 && !refs.some(namesEpc)) enclaves = refs.filter((r) => r.list === 'containers');
  for (const ref of enclaves) {
    addDevice(editFor(edits, ref), ENCLAVE_RESOURCE);
    plan.enclaveContainers.push(ref.name);
    const w = forkWarning(ref);
    if (w) plan.warnings.push(w);
  }

  const extra: PatchOp[] = [];
  const provider = annotations[ANNOTATION_QUOTE_PROVIDER] ?? annotations[INTEL_ANNOTATION_QUOTE_PROVIDER];
  if (provider !== undefined && provider !== '') {
    if (provider === QUOTE_PROVIDER_AESMD) planAesmd(spec, refs, enclaves, edits, base, extra, plan);
    else {
      // In-process quoting: the named container runs its own QE/PCE, enclaves themselves, so it needs
      // /dev/sgx_provision and the enclave device (as a container asking for provision directly gets it: the
      // second pass of the webhook must find nothing left to add).
      const ref = refs.find((r) => r.name === provider);
      if (!ref) plan.denials.push(`${ANNOTATION_QUOTE_PROVIDER} names container "${provider}", which the pod does not have (use a container name for in-process quoting, or "aesmd")`);
      else {
        addDevice(editFor(edits, ref), PROVISION_RESOURCE);
        if (!enclaves.includes(ref)) {
          addDevice(editFor(edits, ref), ENCLAVE_RESOURCE);
          plan.enclaveContainers.push(ref.name);
        }
      }
    }
  }

  if (options.attestation) {
    const enclaveRefs = refs.filter((r) => plan.enclaveContainers.includes(r.name));
    extra.push(...planAttestationEnv(spec, enclaveRefs, base, options.attestation, extra));
  }
  for (const edit of edits.values()) emitResources(edit, base, plan.ops);
  plan.ops.push(...extra);

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
