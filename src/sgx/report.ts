import { ByteReader } from '../lib/bytes.js';
import { decodeAttributes, type Attributes } from './attributes.js';

/** Size of an SGX REPORT body (sgx_report_body_t), as in a quote and in the QE report. */
export const REPORT_BODY_SIZE = 384;

/**
 * sgx_report_body_t (Intel SGX SDK `sgx_report.h`; docs/sgx.md §Report body). Byte fields are views into the
 * quote, never copies. Offsets are relative to the body.
 */
export interface ReportBody {
  raw: Uint8Array;
  cpuSvn: Uint8Array; //           0, 16
  miscSelect: number; //          16, 4
  isvExtProdId: Uint8Array; //    32, 16
  attributes: Attributes; //      48, 16
  attributesRaw: Uint8Array;
  mrEnclave: Uint8Array; //       64, 32
  mrSigner: Uint8Array; //       128, 32
  configId: Uint8Array; //       192, 64
  isvProdId: number; //          256, 2
  isvSvn: number; //             258, 2
  configSvn: number; //          260, 2
  isvFamilyId: Uint8Array; //    304, 16
  reportData: Uint8Array; //     320, 64
}

export function parseReportBody(r: ByteReader, what: string): ReportBody {
  const start = r.pos;
  r.need(REPORT_BODY_SIZE, what);
  const raw = r.buf.subarray(start, start + REPORT_BODY_SIZE);
  const at = (off: number, len: number) => raw.subarray(off, off + len);
  const u16 = (off: number) => raw[off] | (raw[off + 1] << 8);
  r.pos += REPORT_BODY_SIZE;
  const attributesRaw = at(48, 16);
  return {
    raw,
    cpuSvn: at(0, 16),
    miscSelect: (raw[16] | (raw[17] << 8) | (raw[18] << 16)) + raw[19] * 0x1000000,
    isvExtProdId: at(32, 16),
    attributes: decodeAttributes(attributesRaw),
    attributesRaw,
    mrEnclave: at(64, 32),
    mrSigner: at(128, 32),
    configId: at(192, 64),
    isvProdId: u16(256),
    isvSvn: u16(258),
    configSvn: u16(260),
    isvFamilyId: at(304, 16),
    reportData: at(320, 64),
  };
}

/** TDX TD report body 1.0 (584 bytes): recognised and exposed, not verified here. */
export const TD_REPORT10_SIZE = 584;
export interface TdReportBody {
  raw: Uint8Array;
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmr: Uint8Array[];
  reportData: Uint8Array;
}

export function parseTdReportBody(r: ByteReader, size: number, what: string): TdReportBody {
  const start = r.pos;
  r.need(size, what);
  const raw = r.buf.subarray(start, start + size);
  r.pos += size;
  let o = 0;
  const take = (n: number) => {
    const v = raw.subarray(o, o + n);
    o += n;
    return v;
  };
  return {
    raw,
    teeTcbSvn: take(16),
    mrSeam: take(48),
    mrSignerSeam: take(48),
    seamAttributes: take(8),
    tdAttributes: take(8),
    xfam: take(8),
    mrTd: take(48),
    mrConfigId: take(48),
    mrOwner: take(48),
    mrOwnerConfig: take(48),
    rtmr: [take(48), take(48), take(48), take(48)],
    reportData: take(64),
  };
}
