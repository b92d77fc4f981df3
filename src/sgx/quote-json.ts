import { toHex } from '../lib/bytes.js';
import { parsePckExtensions, pckExtensionsToJson, type PckExtensions } from './pck.js';
import { teeTypeName, type Quote } from './quote.js';
import type { ReportBody, TdReportBody } from './report.js';

/** JSON view of a report body: byte fields in lower-case hex; attributes as their 8 raw bytes each. */
export function reportBodyToJson(r: ReportBody) {
  return {
    cpuSvn: toHex(r.cpuSvn),
    miscSelect: r.miscSelect,
    attributes: {
      flags: toHex(r.attributesRaw.subarray(0, 8)),
      xfrm: toHex(r.attributesRaw.subarray(8, 16)),
      debug: r.attributes.debug,
      names: r.attributes.names,
    },
    mrEnclave: toHex(r.mrEnclave),
    mrSigner: toHex(r.mrSigner),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    configId: toHex(r.configId),
    configSvn: r.configSvn,
    isvExtProdId: toHex(r.isvExtProdId),
    isvFamilyId: toHex(r.isvFamilyId),
    reportData: toHex(r.reportData),
  };
}

export function tdReportBodyToJson(r: TdReportBody) {
  return {
    teeTcbSvn: toHex(r.teeTcbSvn),
    mrSeam: toHex(r.mrSeam),
    mrSignerSeam: toHex(r.mrSignerSeam),
    seamAttributes: toHex(r.seamAttributes),
    tdAttributes: toHex(r.tdAttributes),
    xfam: toHex(r.xfam),
    mrTd: toHex(r.mrTd),
    mrConfigId: toHex(r.mrConfigId),
    mrOwner: toHex(r.mrOwner),
    mrOwnerConfig: toHex(r.mrOwnerConfig),
    rtmr: r.rtmr.map(toHex),
    reportData: toHex(r.reportData),
  };
}

/** The PCK certificate's SGX extensions, or null when the quote carries no PCK chain (types 1–4, 6, 7). */
export function quotePckExtensions(q: Quote): PckExtensions | null {
  const chain = q.certificationData.pckChain;
  if (!chain || chain.length === 0) return null;
  return parsePckExtensions(chain[0]);
}

/** The `confkube quote inspect --json` shape (issue: foundation, item 3). */
export function quoteToJson(q: Quote) {
  const pck = quotePckExtensions(q);
  return {
    version: q.header.version,
    teeType: q.header.teeType,
    tee: teeTypeName(q.header.teeType),
    attestationKeyType: q.header.attestationKeyType,
    qeSvn: q.header.qeSvn,
    pceSvn: q.header.pceSvn,
    qeVendorId: toHex(q.header.qeVendorId),
    userData: toHex(q.header.userData),
    report: q.report ? reportBodyToJson(q.report) : null,
    ...(q.tdReport ? { tdReport: tdReportBodyToJson(q.tdReport) } : {}),
    qeReport: reportBodyToJson(q.qeReport),
    quoteSignature: toHex(q.quoteSignature),
    attestationKey: toHex(q.attestationKey),
    qeAuthData: toHex(q.qeAuthData),
    certificationData: {
      type: q.certificationData.type,
      size: q.certificationData.data.length,
      ...(q.outerCertificationData ? { outerType: q.outerCertificationData.type, outerSize: q.outerCertificationData.data.length } : {}),
      ...(q.certificationData.pckChainPem ? { certificates: q.certificationData.pckChainPem.length } : {}),
    },
    pck: pck ? pckExtensionsToJson(pck) : null,
    trailingBytes: q.trailingBytes,
  };
}
