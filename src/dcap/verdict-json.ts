import { toHex } from '../lib/bytes.js';
import type { ReportBody } from '../sgx/report.js';
import type { Verdict } from './verify-quote.js';

function report(r: ReportBody | null) {
  if (!r) return null;
  return {
    mrEnclave: toHex(r.mrEnclave),
    mrSigner: toHex(r.mrSigner),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    reportData: toHex(r.reportData),
    cpuSvn: toHex(r.cpuSvn),
    attributes: toHex(r.attributesRaw),
    debug: r.attributes.debug,
    configSvn: r.configSvn,
  };
}

/** The verdict as JSON (`confkube quote verify --json`): byte fields in lower-case hex. */
export function verdictToJson(v: Verdict) {
  return {
    ok: v.ok,
    status: v.status,
    platformStatus: v.platformStatus,
    qeStatus: v.qeStatus,
    advisoryIds: v.advisoryIds,
    platformAdvisoryIds: v.platformAdvisoryIds,
    qeAdvisoryIds: v.qeAdvisoryIds,
    tcbDate: v.tcbDate,
    qeTcbDate: v.qeTcbDate,
    tcbEvaluationDataNumber: v.tcbEvaluationDataNumber,
    tcbInfoVersion: v.tcbInfoVersion,
    collateralExpired: v.collateralExpired,
    collateralExpiredReasons: v.collateralExpiredReasons,
    earliestExpiry: v.earliestExpiry,
    latestIssue: v.latestIssue,
    debug: v.debug,
    fmspc: v.fmspc,
    pceId: v.pceId,
    pckCa: v.pckCa,
    sgxType: v.sgxType,
    report: report(v.report),
    qeReport: report(v.qeReport),
    errors: v.errors,
    warnings: v.warnings,
  };
}
