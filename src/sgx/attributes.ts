/**
 * SGX ATTRIBUTES (sgx_attributes_t): flags u64 LE ‖ XFRM u64 LE. Bit names from the Intel SDM,
 * Vol. 3D §37.7.1 (SECS.ATTRIBUTES).
 */
export interface Attributes {
  flags: bigint;
  xfrm: bigint;
  init: boolean;
  debug: boolean;
  mode64bit: boolean;
  provisionKey: boolean;
  einitTokenKey: boolean;
  kss: boolean;
  aexNotify: boolean;
  names: string[];
}

export const ATTRIBUTE_BITS = {
  INIT: 0n,
  DEBUG: 1n,
  MODE64BIT: 2n,
  PROVISIONKEY: 4n,
  EINITTOKENKEY: 5n,
  KSS: 7n,
  AEXNOTIFY: 10n,
} as const;

function u64le(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

export function decodeAttributes(bytes16: Uint8Array): Attributes {
  const flags = u64le(bytes16, 0);
  const xfrm = u64le(bytes16, 8);
  const has = (bit: bigint) => ((flags >> bit) & 1n) === 1n;
  const names = Object.entries(ATTRIBUTE_BITS)
    .filter(([, bit]) => has(bit))
    .map(([n]) => n);
  return {
    flags,
    xfrm,
    init: has(ATTRIBUTE_BITS.INIT),
    debug: has(ATTRIBUTE_BITS.DEBUG),
    mode64bit: has(ATTRIBUTE_BITS.MODE64BIT),
    provisionKey: has(ATTRIBUTE_BITS.PROVISIONKEY),
    einitTokenKey: has(ATTRIBUTE_BITS.EINITTOKENKEY),
    kss: has(ATTRIBUTE_BITS.KSS),
    aexNotify: has(ATTRIBUTE_BITS.AEXNOTIFY),
    names,
  };
}
