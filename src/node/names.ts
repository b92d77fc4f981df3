/**
 * Names users' YAML and other tools depend on (docs/admission.md §EPC names and aliases;
 * docs/node.md §Shared slots; docs/node.md §Labels).
 */

/** EPC in bytes, advertised as a node extended resource in status.capacity (not a device plugin). */
export const EPC_RESOURCE = 'sgx.intel.com/epc';
/** EPC aliases in integer MiB that the webhook rewrites; counted here too in case it did not run. */
export const EPC_ALIASES_MIB = ['sgx.intel.com/sgx_epc_mem_in_MiB', 'kubernetes.azure.com/sgx_epc_mem_in_MiB'] as const;

export const ENCLAVE_RESOURCE = 'sgx.intel.com/enclave';
export const PROVISION_RESOURCE = 'sgx.intel.com/provision';
/** Intel's default shared slots per node (docs/node.md §Shared slots: 110, the README's 20 is stale). */
export const DEFAULT_SLOTS = 110;

export const LABEL_SGX = 'confkube.io/sgx';
export const LABEL_FLC = 'confkube.io/sgx-flc';
export const LABEL_EPC_MIB = 'confkube.io/epc-mib';
export const LABEL_DRIVER = 'confkube.io/sgx-driver';
export const LABEL_AESMD = 'confkube.io/aesmd';
/** NFD's label, set "if Intel SGX is enabled in BIOS (non-zero sum of EPC section sizes)" (docs/node.md §Labels). */
export const LABEL_NFD_SGX = 'feature.node.kubernetes.io/cpu-security.sgx.enabled';

/** Quote helper (docs/node.md §Quote helper): the aesmd directory mounted into containers and the env that selects it. */
export const AESMD_DIR = '/var/run/aesmd';
export const AESMD_SOCKET = '/var/run/aesmd/aesm.socket';
export const AESM_ENV = 'SGX_AESM_ADDR';

/** Kubelet device plugin constants (docs/node.md §Device plugin API). */
export const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
export const KUBELET_SOCKET_NAME = 'kubelet.sock';
export const DEVICE_PLUGIN_API_VERSION = 'v1beta1';
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';

/** Device nodes in the three driver layouts (docs/node.md §Device nodes). */
export const ENCLAVE_DEVICES = ['/dev/sgx_enclave', '/dev/sgx/enclave', '/dev/isgx'] as const;
export const PROVISION_DEVICES = ['/dev/sgx_provision', '/dev/sgx/provision'] as const;
export const VEPC_DEVICE = '/dev/sgx_vepc';

export const MIB = 1024 * 1024;
