import type { SgxDiscovery } from './discover.js';
import { LABEL_AESMD, LABEL_DRIVER, LABEL_EPC_MIB, LABEL_FLC, LABEL_NFD_SGX, LABEL_SGX, MIB } from './names.js';

/**
 * Node labels for a discovery result. A null value removes the label (strategic-merge and merge
 * patches delete keys set to null), so a node that lost SGX does not keep stale labels.
 */
export function nodeLabels(d: SgxDiscovery): Record<string, string | null> {
  return {
    [LABEL_SGX]: String(d.sgx),
    [LABEL_FLC]: String(d.flc),
    [LABEL_EPC_MIB]: d.sgx ? String(Math.floor(d.epc.totalBytes / MIB)) : null,
    [LABEL_DRIVER]: d.driver,
    [LABEL_AESMD]: String(d.aesmd.socket !== null),
    // NFD: "true" iff the sum of EPC section sizes is non-zero; absent otherwise (docs/node.md §Labels).
    [LABEL_NFD_SGX]: d.sgx && d.epc.totalBytes > 0 ? 'true' : null,
  };
}

/** EPC capacity to assert in node status, in bytes; null for a node without SGX (nothing to advertise). */
export function epcCapacityBytes(d: SgxDiscovery): number | null {
  return d.sgx && d.epc.totalBytes > 0 ? d.epc.totalBytes : null;
}
