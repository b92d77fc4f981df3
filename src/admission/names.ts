/**
 * Names the webhook reads and writes. Resource names are shared with the node agent
 * (docs/admission.md §EPC names and aliases); annotations live in the `confkube.io/` namespace, with Intel's quote-provider annotation
 * accepted too (docs/admission.md §EPC names and aliases).
 */
export { EPC_RESOURCE, EPC_ALIASES_MIB, ENCLAVE_RESOURCE, PROVISION_RESOURCE, AESMD_DIR, AESM_ENV } from '../kube/names.js';

/** `"true"`: every app container of the pod is an enclave container even without an EPC request. */
export const ANNOTATION_SGX = 'confkube.io/sgx';
/** A container name (in-process quoting: gets `sgx.intel.com/provision`) or `aesmd` (out-of-process: socket mount). */
export const ANNOTATION_QUOTE_PROVIDER = 'confkube.io/quote-provider';
export const INTEL_ANNOTATION_QUOTE_PROVIDER = 'sgx.intel.com/quote-provider';
/** The enclave's MRSIGNER (64 hex digits) the pod declares. */
export const ANNOTATION_MRSIGNER = 'confkube.io/mrsigner';
/** `configmap-name/key`: a SIGSTRUCT (raw, Gramine .sig, SDK .signed.so or OE/EGo binary) in a ConfigMap of the pod's namespace. */
export const ANNOTATION_SIGSTRUCT = 'confkube.io/sigstruct';
/** On a Namespace: comma-separated trusted MRSIGNERs for pods in it (in addition to the cluster list). */
export const ANNOTATION_TRUSTED_MRSIGNERS = 'confkube.io/trusted-mrsigners';

export const AESMD_VOLUME = 'aesmd-socket';
export const QUOTE_PROVIDER_AESMD = 'aesmd';
