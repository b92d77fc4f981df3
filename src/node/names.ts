/** Names only the node agent uses; the ones shared with the webhook live in src/kube/names.ts. */
export * from '../kube/names.js';

/** Kubelet device plugin constants (docs/kube-operations.md, device plugin API v1beta1). */
export const DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
export const KUBELET_SOCKET_NAME = 'kubelet.sock';
export const DEVICE_PLUGIN_API_VERSION = 'v1beta1';
export const HEALTHY = 'Healthy';
export const UNHEALTHY = 'Unhealthy';

/** Device nodes in the three driver layouts: in-kernel, out-of-tree DCAP (old and new names), legacy isgx. */
export const ENCLAVE_DEVICES = ['/dev/sgx_enclave', '/dev/sgx/enclave', '/dev/isgx'] as const;
export const PROVISION_DEVICES = ['/dev/sgx_provision', '/dev/sgx/provision'] as const;
export const VEPC_DEVICE = '/dev/sgx_vepc';
