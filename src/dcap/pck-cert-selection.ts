import type { PckExtensions } from '../sgx/pck.js';
import { bytesEqual, toHex } from '../lib/bytes.js';
import { CollateralError } from './errors.js';
import type { TcbInfo } from './tcb-info.js';

/** A platform's raw TCB as the quote provider library reports it (docs/pccs.md §PCK certificate selection). */
export interface RawTcb {
  cpuSvn: Uint8Array;
  pceSvn: number;
}

type Order = 'lower' | 'equal-or-greater' | 'undefined';

/** Intel PCKCertSelection `compare_tcb_components`: every component and the PCESVN, no lexicographic order. */
function compare(a: readonly number[], aPce: number, b: readonly number[], bPce: number): Order {
  let aLower = aPce < bPce;
  let bLower = aPce > bPce;
  for (let i = 0; i < 16; i++) {
    if (a[i] < b[i]) aLower = true;
    if (a[i] > b[i]) bLower = true;
  }
  if (aLower && bLower) return 'undefined';
  return aLower ? 'lower' : 'equal-or-greater';
}

/**
 * Intel's PCK certificate selection, as Intel's PCCS runs it (docs/pccs.md §PCK certificate selection): the
 * certificates are put in one bucket per TCB Info level (the first level, highest first, that the certificate's
 * TCB is ≥ to; one more bucket for none), each bucket highest TCB first; the
 * answer is the first certificate, bucket by bucket, whose TCB the platform's raw TCB is ≥ to. The candidates
 * must share the TCB Info's FMSPC and PCE-ID and one PPID (Intel refuses the set otherwise). Returns the index
 * of the chosen certificate, or -1 when the raw TCB is below every one.
 */
export function selectPckCert(info: TcbInfo, raw: RawTcb, certs: readonly PckExtensions[]): number {
  if (info.tcbType !== 0) throw new CollateralError(`PCK certificate selection: TCB type ${info.tcbType} is not supported (Intel defines 0)`);
  if (raw.cpuSvn.length !== 16) throw new CollateralError(`PCK certificate selection: CPUSVN must be 16 bytes, got ${raw.cpuSvn.length}`);
  const ppid = certs[0]?.ppid;
  certs.forEach((c, i) => {
    if (toHex(c.fmspc) !== info.fmspc) throw new CollateralError(`PCK certificate ${i}: FMSPC ${toHex(c.fmspc)} is not the TCB Info's ${info.fmspc}`);
    if (toHex(c.pceId) !== info.pceId) throw new CollateralError(`PCK certificate ${i}: PCE-ID ${toHex(c.pceId)} is not the TCB Info's ${info.pceId}`);
    if (ppid && !bytesEqual(c.ppid, ppid)) throw new CollateralError(`PCK certificate ${i}: PPID differs from certificate 0's (one platform per selection)`);
  });
  const buckets: number[][] = Array.from({ length: info.levels.length + 1 }, () => []);
  certs.forEach((c, i) => {
    let b = info.levels.findIndex((l) => compare(c.tcbComponents, c.pceSvn, l.components, l.pceSvn) === 'equal-or-greater');
    if (b < 0) b = info.levels.length;
    const bucket = buckets[b];
    const at = bucket.findIndex((j) => compare(c.tcbComponents, c.pceSvn, certs[j].tcbComponents, certs[j].pceSvn) === 'equal-or-greater');
    if (at < 0) bucket.push(i);
    else bucket.splice(at, 0, i);
  });
  // tcbType 0: the raw CPUSVN's bytes are the 16 components.
  const components = Array.from(raw.cpuSvn);
  for (const bucket of buckets) {
    for (const i of bucket) if (compare(components, raw.pceSvn, certs[i].tcbComponents, certs[i].pceSvn) === 'equal-or-greater') return i;
  }
  return -1;
}
