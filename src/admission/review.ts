import { injectsInto } from './attestation-env.js';
import { ReviewError } from './errors.js';
import { formatBytes, planPod, type MutateOptions, type PatchOp } from './mutate.js';
import { POD_META_PATHS, POD_SPEC_PATHS, at, isObject, pointer, stringMap } from './pod-spec.js';
import { checkSigner, type SignerLookups } from './signer-policy.js';

export interface ClusterView extends SignerLookups {
  /** The largest `sgx.intel.com/epc` a node offers (allocatable, else capacity); null when unknown. */
  largestEpc(): Promise<{ bytes: number; node: string } | null>;
}

export interface ReviewOptions extends MutateOptions {
  /** Cluster-wide trusted MRSIGNERs (lower-case hex). */
  trustedMrSigners?: readonly string[];
  cluster?: ClusterView | null;
  /**
   * `rewrite` (default): workload templates are patched like pods, so the stored template shows what its pods
   * get. `pods`: workloads are checked (refusals, warnings) but stored as written, and only their Pods are
   * patched at creation — the user's EPC alias stays in the Deployment, so GitOps tools see no drift
   * (docs/kube-operations.md §GitOps).
   */
  workloadMutation?: 'rewrite' | 'pods';
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  status?: { code: number; reason?: string; message: string };
}

export interface AdmissionReviewOut {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type ReviewMode = 'mutate' | 'validate';

const MAX_WARNING = 256; // API server limit per warning (docs/admission.md §AdmissionReview)

function sameTemplate(a: Record<string, unknown>, b: Record<string, unknown>, specPath: readonly string[], metaPath: readonly string[]): boolean {
  return JSON.stringify(at(a, specPath)) === JSON.stringify(at(b, specPath)) && JSON.stringify(at(a, [...metaPath, 'annotations']) ?? null) === JSON.stringify(at(b, [...metaPath, 'annotations']) ?? null);
}

/** Parse and shape-check an AdmissionReview v1 request. */
export function parseReview(body: unknown): { uid: string; request: Record<string, unknown> } {
  if (!isObject(body)) throw new ReviewError('ERR_REVIEW_SHAPE', 'body is not a JSON object (expected an AdmissionReview)');
  if (body.kind !== 'AdmissionReview') throw new ReviewError('ERR_REVIEW_KIND', `kind is ${JSON.stringify(body.kind ?? null)}, expected "AdmissionReview"`);
  if (body.apiVersion !== 'admission.k8s.io/v1') {
    throw new ReviewError('ERR_REVIEW_VERSION', `apiVersion is ${JSON.stringify(body.apiVersion ?? null)}, expected "admission.k8s.io/v1"`);
  }
  const request = body.request;
  if (!isObject(request)) throw new ReviewError('ERR_REVIEW_SHAPE', 'AdmissionReview has no "request" object');
  if (typeof request.uid !== 'string' || request.uid.length === 0) throw new ReviewError('ERR_REVIEW_SHAPE', 'AdmissionReview request has no "uid"');
  return { uid: request.uid, request };
}

function allowed(uid: string, warnings: string[] = []): AdmissionResponse {
  const r: AdmissionResponse = { uid, allowed: true };
  if (warnings.length > 0) r.warnings = warnings.map((w) => (w.length > MAX_WARNING ? w.slice(0, MAX_WARNING - 1) + '…' : w));
  return r;
}

/** What one review was about, for the decision log line and metrics. */
export interface ReviewFacts {
  kind: string;
  operation: string;
  namespace: string;
  name: string;
  /** The object asks for SGX (decided past its resource names and annotations). */
  sgx: boolean;
  /** Operations in the patch (mutate). */
  patchOps: number;
}

/** `reviewRequest` with what the review was about, for logs and metrics. */
export async function reviewWithFacts(body: unknown, mode: ReviewMode, options: ReviewOptions = {}): Promise<{ review: AdmissionReviewOut; facts: ReviewFacts }> {
  const { uid, request } = parseReview(body);
  const object = isObject(request.object) ? request.object : null;
  const kindField = isObject(request.kind) && typeof request.kind.kind === 'string' ? request.kind.kind : object?.kind;
  const facts: ReviewFacts = {
    kind: typeof kindField === 'string' ? kindField : '',
    operation: typeof request.operation === 'string' ? request.operation : '',
    namespace: typeof request.namespace === 'string' ? request.namespace : '',
    name: typeof request.name === 'string' && request.name !== '' ? request.name : isObject(object?.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '',
    sgx: false,
    patchOps: 0,
  };
  const response = await decide(uid, request, mode, options, facts);
  return { review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }, facts };
}

/**
 * Answer one AdmissionReview. Objects that do not ask for SGX are allowed with no patch whatever else is in
 * them or wrong with them, and no cluster lookup happens for them. SGX objects are mutated (mode `mutate`) or
 * checked (both modes): impossible EPC and signer policy.
 */
export async function reviewRequest(body: unknown, mode: ReviewMode, options: ReviewOptions = {}): Promise<AdmissionReviewOut> {
  return (await reviewWithFacts(body, mode, options)).review;
}

async function decide(uid: string, request: Record<string, unknown>, mode: ReviewMode, options: ReviewOptions, facts: ReviewFacts): Promise<AdmissionResponse> {
  const op = request.operation;
  if (op !== undefined && op !== 'CREATE' && op !== 'UPDATE') return allowed(uid);
  // Subresources (status, ephemeralcontainers, resize, binding…) never carry a new pod template to admit.
  if (typeof request.subResource === 'string' && request.subResource !== '') return allowed(uid);
  const object = request.object;
  if (!isObject(object)) return allowed(uid);
  const kindField = isObject(request.kind) && typeof request.kind.kind === 'string' ? request.kind.kind : object.kind;
  const kind = typeof kindField === 'string' ? kindField : '';
  // Own properties only: a kind named "toString" or "__proto__" is just another kind we do not admit.
  if (!Object.hasOwn(POD_SPEC_PATHS, kind)) return allowed(uid);
  // A pod's containers cannot change after creation: an UPDATE (labels, finalizers) is never patched or blocked.
  if (kind === 'Pod' && op === 'UPDATE') return allowed(uid);
  const specPath = POD_SPEC_PATHS[kind];
  const metaPath = POD_META_PATHS[kind];
  const spec = at(object, specPath);
  const annotations = stringMap(at(object, [...metaPath, 'annotations']));
  const namespace = typeof request.namespace === 'string' ? request.namespace : isObject(object.metadata) && typeof object.metadata.namespace === 'string' ? object.metadata.namespace : 'default';
  // The attestation variables are added in the mutating pass only: the validating pass does not refuse a pod
  // for lacking them (a replica of an older configuration may have mutated it during a rollout).
  const attestation = mode === 'mutate' && options.attestation && injectsInto(options.attestation, namespace) ? options.attestation : null;
  const plan = planPod(spec, annotations, specPath, { ...options, attestation });
  if (!plan.sgx) return allowed(uid);
  facts.sgx = true;
  // A workload UPDATE that leaves the pod template alone (scaling, labels) was admitted when the template was
  // written: it is not re-judged, so a changed trust list or a full cluster never blocks a scale-down.
  if (op === 'UPDATE' && isObject(request.oldObject) && sameTemplate(object, request.oldObject, specPath, metaPath)) return allowed(uid);

  const denials = [...plan.denials];
  const warnings = [...plan.warnings];
  const cluster = options.cluster ?? null;
  if (plan.epcBytes > 0 && cluster) {
    try {
      const largest = await cluster.largestEpc();
      if (largest && plan.epcBytes > largest.bytes) {
        denials.push(`${kind} asks for ${formatBytes(plan.epcBytes)} of EPC on one node, but the largest SGX node (${largest.node}) offers ${formatBytes(largest.bytes)}`);
      } else if (!largest) {
        warnings.push('no node advertises sgx.intel.com/epc yet: the pod stays Pending until an SGX node joins');
      }
    } catch (e) {
      warnings.push(`EPC size not checked: nodes could not be read (${(e as Error).message})`);
    }
  }
  const s = await checkSigner(annotations, namespace, options.trustedMrSigners ?? [], cluster);
  denials.push(...s.denials);
  warnings.push(...s.warnings);
  // The validating pass sees the pod after every mutation. A Pod that still needs ours was created while the
  // mutating webhook was skipped (an outage under failurePolicy Ignore): refusing it here is what stops it from
  // starting without /dev/sgx_enclave, Intel's silent failure (docs/admission.md §Validating pass, intel#1695). Workloads are
  // not refused for it: their pods are admitted, and mutated, one by one.
  if (mode === 'validate' && kind === 'Pod') {
    const pending = plan.ops.filter((o) => !o.path.startsWith(pointer([...specPath, 'tolerations'])));
    if (pending.length > 0) {
      denials.push(
        `the pod was not mutated by the confkube webhook (${pending.length} change${pending.length > 1 ? 's' : ''} missing, first: ${pending[0].op} ${pending[0].path}): an SGX pod must not start without its devices; create it again once the webhook answers`,
      );
    }
  }
  if (denials.length > 0) {
    const r = allowed(uid, warnings);
    r.allowed = false;
    r.status = { code: 403, reason: 'Forbidden', message: `confkube: ${denials.join('; ')}` };
    return r;
  }
  const r = allowed(uid, mode === 'mutate' ? warnings : []);
  if (mode === 'mutate' && plan.ops.length > 0 && (kind === 'Pod' || options.workloadMutation !== 'pods')) {
    r.patchType = 'JSONPatch';
    facts.patchOps = plan.ops.length;
    r.patch = Buffer.from(JSON.stringify(plan.ops satisfies PatchOp[])).toString('base64');
  }
  return r;
}
