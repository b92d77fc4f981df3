import * as der from './der.js';
import { rawExtension } from './certificate.js';

/** Intel SGX PCK certificate extension (docs/sgx.md §PCK certificate extensions; Intel SGX PCK Certificate and CRL Profile). */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export interface PckExtensionFields {
  ppid: Uint8Array; // 16
  /** The 16 TCB component SVNs (.2.1–.2.16). */
  tcbComponents: readonly number[];
  pceSvn: number;
  cpuSvn: Uint8Array; // 16
  pceId: Uint8Array; // 2
  fmspc: Uint8Array; // 6
  /** 0 Standard, 1 Scalable, 2 Scalable-with-integrity. */
  sgxType: number;
  /** Platform CA certificates only (.6 and .7). */
  platform?: { instanceId: Uint8Array; dynamicPlatform: boolean; cachedKeys: boolean; smtEnabled: boolean };
}

/** The SGX extension, in Intel's order: PPID, TCB (16 components, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX Type, then Platform CA fields. */
export function sgxExtension(f: PckExtensionFields): Uint8Array {
  const O = SGX_EXTENSION_OID;
  const pair = (suffix: string, value: Uint8Array) => der.seq(der.oid(`${O}.${suffix}`), value);
  const tcb = [
    ...f.tcbComponents.map((svn, i) => pair(`2.${i + 1}`, der.int(svn))),
    pair('2.17', der.int(f.pceSvn)),
    pair('2.18', der.octets(f.cpuSvn)),
  ];
  const items = [pair('1', der.octets(f.ppid)), pair('2', der.seq(...tcb)), pair('3', der.octets(f.pceId)), pair('4', der.octets(f.fmspc)), pair('5', der.enumerated(f.sgxType))];
  if (f.platform) {
    items.push(pair('6', der.octets(f.platform.instanceId)));
    items.push(pair('7', der.seq(pair('7.1', der.bool(f.platform.dynamicPlatform)), pair('7.2', der.bool(f.platform.cachedKeys)), pair('7.3', der.bool(f.platform.smtEnabled)))));
  }
  return rawExtension(O, der.seq(...items));
}
