import { createHash } from 'node:crypto';
import { toHex } from '../lib/bytes.js';
import type { ReportBody } from '../sgx/report.js';
import type { Verdict } from '../dcap/index.js';
import { b64url } from './base64.js';
import type { ClaimMap } from './deps.js';

/**
 * Names confkube adds next to MAA's, in MAA's `x-ms-sgx-*` style (issue 6; documented in
 * src/attestation/README.md). MAA itself only gates on a TCB baseline; Intel Trust Authority reports
 * the status — relying parties want both (docs/attestation.md §TCB status claims).
 */
export const CLAIM_TCB_STATUS = 'x-ms-sgx-tcb-status';
export const CLAIM_ADVISORY_IDS = 'x-ms-sgx-advisory-ids';
export const CLAIM_IS_SIMULATED = 'x-ms-sgx-is-simulated';

export interface RuntimeInput {
  data: Uint8Array;
  dataType: 'Binary' | 'JSON';
  json?: unknown;
}

/** Raw bytes of the collateral used, for `x-ms-sgx-collateral` (docs/attestation.md §Collateral hashes: lower-case hex SHA-256 of each). */
export interface CollateralHashInput {
  tcbInfo: Uint8Array; tcbInfoCerts: Uint8Array; tcbInfoCrl: Uint8Array;
  qeIdentity: Uint8Array; qeIdentityCerts: Uint8Array; qeIdentityCrl: Uint8Array;
}

const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function collateralClaim(quote: Uint8Array, c: CollateralHashInput): Record<string, string> {
  return {
    qeidcertshash: sha256Hex(c.qeIdentityCerts),
    qeidcrlhash: sha256Hex(c.qeIdentityCrl),
    qeidhash: sha256Hex(c.qeIdentity),
    quotehash: sha256Hex(quote),
    tcbinfocertshash: sha256Hex(c.tcbInfoCerts),
    tcbinfocrlhash: sha256Hex(c.tcbInfoCrl),
    tcbinfohash: sha256Hex(c.tcbInfo),
  };
}

/**
 * The service-generated SGX claims (docs/attestation.md §Claims), also the incoming claims the policy sees (docs/policy.md §SGX incoming claims, issuer
 * AttestationService). Types are exact: booleans stay booleans (Gramine and EGo check the JSON type).
 */
export function sgxClaims(report: ReportBody, verdict: Pick<Verdict, 'status' | 'advisoryIds'>, opts: {
  runtime?: RuntimeInput; initTime?: RuntimeInput; collateral?: Record<string, string>; simulated: boolean;
}): ClaimMap {
  const c: ClaimMap = {
    'x-ms-attestation-type': 'sgx',
    'x-ms-sgx-is-debuggable': report.attributes.debug,
    'x-ms-sgx-mrenclave': toHex(report.mrEnclave),
    'x-ms-sgx-mrsigner': toHex(report.mrSigner),
    'x-ms-sgx-product-id': report.isvProdId,
    'x-ms-sgx-svn': report.isvSvn,
    'x-ms-sgx-report-data': toHex(report.reportData),
    'x-ms-ver': '1.0',
    [CLAIM_TCB_STATUS]: verdict.status,
    [CLAIM_ADVISORY_IDS]: verdict.advisoryIds,
    [CLAIM_IS_SIMULATED]: opts.simulated,
  };
  // Ice Lake KSS claims appear only when the enclave uses them (docs/attestation.md §Claims).
  if (report.configId.some((b) => b !== 0) || report.configSvn !== 0) {
    c['x-ms-sgx-config-id'] = toHex(report.configId);
    c['x-ms-sgx-config-svn'] = report.configSvn;
  }
  if (report.isvExtProdId.some((b) => b !== 0)) c['x-ms-sgx-isv-extended-product-id'] = toHex(report.isvExtProdId);
  if (report.isvFamilyId.some((b) => b !== 0)) c['x-ms-sgx-isv-family-id'] = toHex(report.isvFamilyId);
  if (opts.collateral) c['x-ms-sgx-collateral'] = opts.collateral;
  if (opts.runtime) {
    if (opts.runtime.dataType === 'JSON') c['x-ms-runtime'] = opts.runtime.json;
    else c['x-ms-sgx-ehd'] = b64url(opts.runtime.data);
  }
  if (opts.initTime?.dataType === 'JSON') c['x-ms-inittime'] = opts.initTime.json;
  return c;
}

/** Legacy claims the service itself still adds (docs/attestation.md §Legacy claims): `maa-ehd`, `aas-ehd`, `maa-attestationcollateral`. */
export function legacyServiceClaims(c: ClaimMap): ClaimMap {
  const out: ClaimMap = {};
  if (typeof c['x-ms-sgx-ehd'] === 'string') {
    out['maa-ehd'] = c['x-ms-sgx-ehd'];
    out['aas-ehd'] = c['x-ms-sgx-ehd'];
  }
  if (c['x-ms-sgx-collateral'] !== undefined) out['maa-attestationcollateral'] = c['x-ms-sgx-collateral'];
  return out;
}

/** Claim names a policy may not issue: the service owns them (docs/policy.md §Issued claims). */
export function isReservedClaim(name: string): boolean {
  return name.startsWith('x-ms-') || ['iss', 'iat', 'nbf', 'exp', 'jti', 'nonce', 'cnf', 'maa-ehd', 'aas-ehd', 'maa-attestationcollateral'].includes(name);
}
