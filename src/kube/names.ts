/**
 * Names users' YAML and other tools depend on, shared by the node agent and the webhook (docs/admission.md §EPC names and aliases;
 * docs/kube-operations.md).
 */

/** EPC in bytes, advertised as a node extended resource in status.capacity (not a device plugin). */
export const EPC_RESOURCE = 'sgx.intel.com/epc';
/** EPC aliases in integer MiB that the webhook rewrites; counted by the agent too in case it did not run. */
export const EPC_ALIASES_MIB = ['sgx.intel.com/sgx_epc_mem_in_MiB', 'kubernetes.azure.com/sgx_epc_mem_in_MiB'] as const;

export const ENCLAVE_RESOURCE = 'sgx.intel.com/enclave';
export const PROVISION_RESOURCE = 'sgx.intel.com/provision';
/** Intel's default shared slots per node (110; Intel's README's 20 is stale). */
export const DEFAULT_SLOTS = 110;

export const LABEL_SGX = 'confkube.io/sgx';
export const LABEL_FLC = 'confkube.io/sgx-flc';
export const LABEL_EPC_MIB = 'confkube.io/epc-mib';
export const LABEL_DRIVER = 'confkube.io/sgx-driver';
export const LABEL_AESMD = 'confkube.io/aesmd';
/** `"true"` where the agent writes each container's misc.max sgx_epc from its EPC limit. */
export const LABEL_EPC_ENFORCED = 'confkube.io/epc-enforced';
/** NFD's label, set "if Intel SGX is enabled in BIOS (non-zero sum of EPC section sizes)". */
export const LABEL_NFD_SGX = 'feature.node.kubernetes.io/cpu-security.sgx.enabled';

/** Quote helper: the aesmd directory shared with containers and the env that selects out-of-process quoting. */
export const AESMD_DIR = '/var/run/aesmd';
export const AESMD_SOCKET = '/var/run/aesmd/aesm.socket';
export const AESM_ENV = 'SGX_AESM_ADDR';

export const MIB = 1024 * 1024;
