import { ConfkubeError } from '../lib/errors.js';
import { parseQuantity } from '../kube/quantity.js';
import { EPC_RESOURCE } from './names.js';
import type { Json } from './pod-spec.js';

const MIB = 2 ** 20;

/**
 * Bytes of one EPC entry, or why it cannot work. `sgx.intel.com/epc` is bytes; the aliases count whole MiB
 * (docs/admission.md §EPC names and aliases). Extended resources are integers (docs/admission.md §EPC rewrite rules), so a fractional byte count is refused here
 * rather than by the API server after the patch.
 */
export function epcValue(name: string, raw: Json, where: string): { bytes: number; error?: string } {
  if (typeof raw !== 'string' && typeof raw !== 'number') return { bytes: 0, error: `${where}: ${name} must be a quantity, got ${JSON.stringify(raw)}` };
  let n: number;
  try {
    n = parseQuantity(raw);
  } catch (e) {
    return { bytes: 0, error: `${where}: ${name}: ${(e as ConfkubeError).message}` };
  }
  if (name === EPC_RESOURCE) {
    if (!Number.isInteger(n)) return { bytes: 0, error: `${where}: ${name} must be a whole number of bytes, got ${JSON.stringify(raw)}` };
    if (!Number.isSafeInteger(n)) return { bytes: 0, error: `${where}: ${name} ${JSON.stringify(raw)} is not a plausible EPC size` };
    return { bytes: n };
  }
  // `10Mi` under a MiB-count name would be 10 Ti of EPC: the user meant sgx.intel.com/epc.
  if (typeof raw === 'string' && /[a-df-zA-DF-Z]\s*$/.test(raw)) {
    return { bytes: 0, error: `${where}: ${name} counts MiB, so ${JSON.stringify(raw)} would be ${n} MiB; write a plain number (10 for 10 MiB) or use ${EPC_RESOURCE}: ${raw.trim()}` };
  }
  if (!Number.isInteger(n)) return { bytes: 0, error: `${where}: ${name} counts whole MiB, got ${JSON.stringify(raw)}` };
  if (!Number.isSafeInteger(n * MIB)) return { bytes: 0, error: `${where}: ${name} ${JSON.stringify(raw)} is not a plausible EPC size` };
  return { bytes: n * MIB };
}

/** Kubernetes' own rendering of a byte count: the largest binary suffix that divides it. */
export function formatBytes(bytes: number): string {
  for (const [suf, f] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${suf}`;
  }
  return String(bytes);
}
