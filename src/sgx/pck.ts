import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toHex } from '../lib/bytes.js';
import { PckExtensionError } from './errors.js';

/** Intel SGX PCK certificate extension (docs/sgx.md §PCK certificate extensions; Intel SGX PCK Certificate and CRL Profile). */
export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export const SGX_TYPES: Record<number, string> = { 0: 'Standard', 1: 'Scalable', 2: 'ScalableWithIntegrity' };

export interface PckExtensions {
  ppid: Uint8Array;
  /** The 16 TCB component SVNs (.2.1–.2.16): what Intel matches TCB levels against. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  sgxType: number;
  /** Platform CA certificates only. */
  platformInstanceId: Uint8Array | null;
  configuration: { dynamicPlatform?: boolean; cachedKeys?: boolean; smtEnabled?: boolean } | null;
}

function fail(message: string): never {
  throw new PckExtensionError('ERR_PCK_EXTENSION', message);
}

/** Parse a DER certificate with pkijs; typed error when it is not one. */
export function parseCertificate(der: Uint8Array, what = 'certificate'): pkijs.Certificate {
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw new PckExtensionError('ERR_CERT_PARSE', `not DER: ${asn.result.error}`);
    return new pkijs.Certificate({ schema: asn.result });
  } catch (e) {
    throw new PckExtensionError('ERR_CERT_PARSE', `${what}: not an X.509 certificate (${(e as Error).message})`);
  }
}

function octets(v: asn1js.AsnType, field: string, len?: number): Uint8Array {
  if (!(v instanceof asn1js.OctetString)) fail(`SGX extension ${field}: expected OCTET STRING`);
  const b = new Uint8Array(v.valueBlock.valueHexView);
  if (len !== undefined && b.length !== len) fail(`SGX extension ${field}: expected ${len} bytes, got ${b.length}`);
  return b;
}

function integer(v: asn1js.AsnType, field: string): number {
  if (!(v instanceof asn1js.Integer) && !(v instanceof asn1js.Enumerated)) fail(`SGX extension ${field}: expected INTEGER`);
  const n = (v as asn1js.Integer).valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff) fail(`SGX extension ${field}: value out of range`);
  return n;
}

function pairs(seq: asn1js.AsnType, field: string): Map<string, asn1js.AsnType> {
  if (!(seq instanceof asn1js.Sequence)) fail(`SGX extension ${field}: expected SEQUENCE`);
  const out = new Map<string, asn1js.AsnType>();
  for (const item of seq.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) fail(`SGX extension ${field}: expected SEQUENCE of (OID, value)`);
    const [oid, value] = item.valueBlock.value;
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail(`SGX extension ${field}: expected OBJECT IDENTIFIER`);
    out.set(oid.valueBlock.toString(), value);
  }
  return out;
}

/** Extract the SGX extension of a PCK certificate (DER or a parsed pkijs certificate). */
export function parsePckExtensions(cert: Uint8Array | pkijs.Certificate): PckExtensions {
  const c = cert instanceof Uint8Array ? parseCertificate(cert, 'PCK certificate') : cert;
  const ext = c.extensions?.find((e) => e.extnID === SGX_EXTENSION_OID);
  if (!ext) fail(`PCK certificate has no SGX extension (${SGX_EXTENSION_OID})`);
  let asn: ReturnType<typeof asn1js.fromBER>;
  try {
    asn = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  } catch {
    fail('SGX extension is not DER');
  }
  if (asn.offset === -1) fail('SGX extension is not DER');
  const top = pairs(asn.result, 'root');
  const O = SGX_EXTENSION_OID;
  const get = (k: string, name: string) => top.get(`${O}.${k}`) ?? fail(`SGX extension: ${name} (${O}.${k}) missing`);
  const tcb = pairs(get('2', 'TCB'), 'TCB');
  const tcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) {
    const v = tcb.get(`${O}.2.${i}`) ?? fail(`SGX extension: TCB component ${i} (${O}.2.${i}) missing`);
    tcbComponents.push(integer(v, `TCB component ${i}`));
  }
  const pceSvnV = tcb.get(`${O}.2.17`) ?? fail('SGX extension: PCESVN missing');
  const cpuSvnV = tcb.get(`${O}.2.18`) ?? fail('SGX extension: CPUSVN missing');
  const sgxTypeV = get('5', 'SGX Type');
  if (!(sgxTypeV instanceof asn1js.Enumerated) && !(sgxTypeV instanceof asn1js.Integer)) fail('SGX extension: SGX Type must be ENUMERATED');
  const pi = top.get(`${O}.6`);
  const cfg = top.get(`${O}.7`);
  let configuration: PckExtensions['configuration'] = null;
  if (cfg !== undefined) {
    const m = pairs(cfg, 'Configuration');
    const bool = (k: string) => {
      const v = m.get(`${O}.7.${k}`);
      if (v === undefined) return undefined;
      if (!(v instanceof asn1js.Boolean)) fail(`SGX extension: Configuration ${k} must be BOOLEAN`);
      return v.getValue();
    };
    configuration = { dynamicPlatform: bool('1'), cachedKeys: bool('2'), smtEnabled: bool('3') };
  }
  return {
    ppid: octets(get('1', 'PPID'), 'PPID', 16),
    tcbComponents,
    pceSvn: integer(pceSvnV, 'PCESVN'),
    cpuSvn: octets(cpuSvnV, 'CPUSVN', 16),
    pceId: octets(get('3', 'PCE-ID'), 'PCE-ID', 2),
    fmspc: octets(get('4', 'FMSPC'), 'FMSPC', 6),
    sgxType: integer(sgxTypeV, 'SGX Type'),
    platformInstanceId: pi === undefined ? null : octets(pi, 'PlatformInstanceID', 16),
    configuration,
  };
}

export function pckExtensionsToJson(p: PckExtensions) {
  return {
    fmspc: toHex(p.fmspc),
    pceId: toHex(p.pceId),
    pceSvn: p.pceSvn,
    cpuSvn: toHex(p.cpuSvn),
    tcbComponents: p.tcbComponents,
    sgxType: p.sgxType,
    ppid: toHex(p.ppid),
    platformInstanceId: p.platformInstanceId ? toHex(p.platformInstanceId) : null,
    configuration: p.configuration,
  };
}
