import { SimInputError } from './errors.js';

/** Fields of an SGX REPORT body (sgx_report_body_t, docs/sgx.md §Report body); absent fields are zero. */
export interface ReportFields {
  cpuSvn?: Uint8Array; //        0, 16
  miscSelect?: number; //       16, 4
  isvExtProdId?: Uint8Array; // 32, 16
  /** Flags u64 and XFRM u64 (48, 16). */
  attributes?: { flags: bigint; xfrm: bigint };
  mrEnclave?: Uint8Array; //    64, 32
  mrSigner?: Uint8Array; //    128, 32
  configId?: Uint8Array; //    192, 64
  isvProdId?: number; //       256, 2
  isvSvn?: number; //          258, 2
  configSvn?: number; //       260, 2
  isvFamilyId?: Uint8Array; // 304, 16
  reportData?: Uint8Array; //  320, 64 (shorter is zero-padded)
}

export const REPORT_BODY_SIZE = 384;

function put(out: Uint8Array, off: number, size: number, v: Uint8Array | undefined, field: string, allowShorter = false): void {
  if (v === undefined) return;
  if (v.length !== size && !(allowShorter && v.length < size)) {
    throw new SimInputError(`${field}: expected ${size} bytes${allowShorter ? ' or fewer' : ''}, got ${v.length}`);
  }
  out.set(v, off);
}

function u16(out: DataView, off: number, v: number | undefined, field: string): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new SimInputError(`${field}: expected an integer 0..65535, got ${v}`);
  out.setUint16(off, v, true);
}

export function encodeReportBody(f: ReportFields): Uint8Array {
  const out = new Uint8Array(REPORT_BODY_SIZE);
  const dv = new DataView(out.buffer);
  put(out, 0, 16, f.cpuSvn, 'cpuSvn');
  if (f.miscSelect !== undefined) {
    if (!Number.isInteger(f.miscSelect) || f.miscSelect < 0 || f.miscSelect > 0xffffffff) throw new SimInputError(`miscSelect: expected a u32, got ${f.miscSelect}`);
    dv.setUint32(16, f.miscSelect, true);
  }
  put(out, 32, 16, f.isvExtProdId, 'isvExtProdId');
  if (f.attributes) {
    const { flags, xfrm } = f.attributes;
    if (flags < 0n || flags >= 1n << 64n || xfrm < 0n || xfrm >= 1n << 64n) throw new SimInputError('attributes: flags and xfrm must be u64');
    dv.setBigUint64(48, flags, true);
    dv.setBigUint64(56, xfrm, true);
  }
  put(out, 64, 32, f.mrEnclave, 'mrEnclave');
  put(out, 128, 32, f.mrSigner, 'mrSigner');
  put(out, 192, 64, f.configId, 'configId');
  u16(dv, 256, f.isvProdId, 'isvProdId');
  u16(dv, 258, f.isvSvn, 'isvSvn');
  u16(dv, 260, f.configSvn, 'configSvn');
  put(out, 304, 16, f.isvFamilyId, 'isvFamilyId');
  put(out, 320, 64, f.reportData, 'reportData', true);
  return out;
}
