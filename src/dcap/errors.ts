import { ConfkubeError } from '../lib/errors.js';

/**
 * Verification failures. Codes are stable; the Intel QVL status each one corresponds to is noted.
 */
export const DCAP_ERRORS = {
  ERR_QUOTE_VENDOR: 'UNSUPPORTED_QUOTE_FORMAT (QE vendor ID is not Intel)',
  ERR_QUOTE_NO_PCK_CHAIN: 'UNSUPPORTED_PCK_CERT_FORMAT (no PCK certificate chain in the quote)',
  ERR_UNSUPPORTED_TEE: 'UNSUPPORTED_QUOTE_FORMAT (TDX quotes are not verified here)',
  ERR_PCK_CHAIN_INVALID: 'INVALID_PCK_CERT / PCK chain signature or structure',
  ERR_UNTRUSTED_ROOT: 'the chain ends in a root that is not a trust anchor',
  ERR_CRL_INVALID: 'INVALID_PCK_CRL / root CRL signature or structure',
  ERR_PCK_CRL_ISSUER: 'INVALID_PCK_CRL (CRL issuer is not the PCK certificate issuer)',
  ERR_CRL_MISSING: 'a CRL needed for revocation checks is not in the collateral',
  ERR_PCK_REVOKED: 'PCK_REVOKED',
  ERR_CA_REVOKED: 'INTERMEDIATE CA revoked by the root CA CRL',
  ERR_TCB_SIGNING_REVOKED: 'TCB_SIGNING_CERT_REVOKED',
  ERR_TCB_SIGNING_CHAIN_INVALID: 'TCB signing chain invalid',
  ERR_TCB_INFO_FORMAT: 'TCB_INFO_INVALID / unsupported version',
  ERR_TCB_INFO_SIGNATURE: 'TCB_INFO_INVALID_SIGNATURE',
  ERR_TCB_INFO_MISMATCH: 'TCB_INFO_MISMATCH (FMSPC or PCE-ID differs from the PCK certificate)',
  ERR_QE_IDENTITY_FORMAT: 'QE_IDENTITY_INVALID',
  ERR_QE_IDENTITY_SIGNATURE: 'QE_IDENTITY_INVALID_SIGNATURE',
  ERR_QE_IDENTITY_MISMATCH: 'QE_IDENTITY_MISMATCH (MISCSELECT, ATTRIBUTES, MRSIGNER or ISVPRODID)',
  ERR_QE_REPORT_SIGNATURE: 'INVALID_QE_REPORT_SIGNATURE',
  ERR_QE_REPORT_DATA: 'INVALID_QE_REPORT_DATA (attestation key not bound to the QE report)',
  ERR_QUOTE_SIGNATURE: 'INVALID_QUOTE_SIGNATURE',
  ERR_TCB_NOT_SUPPORTED: 'TCB_NOT_SUPPORTED (no TCB level matches)',
  ERR_TCB_UNRECOGNIZED_STATUS: 'TCB_UNRECOGNIZED_STATUS',
  ERR_TCB_REVOKED: 'TCB level Revoked',
  ERR_COLLATERAL_EXPIRED: 'TCB Info or QE Identity past nextUpdate (an error in strict mode, else a warning)',
  ERR_CRL_EXPIRED: 'a CRL past nextUpdate (an error in strict mode, else a warning)',
  ERR_CERT_EXPIRED: 'a certificate past notAfter (an error in strict mode, else a warning)',
  ERR_COLLATERAL_NOT_YET_VALID: 'a certificate or CRL not yet valid (an error in strict mode, else a warning)',
  ERR_COLLATERAL_INVALID: 'collateral could not be read',
} as const;

export type DcapErrorCode = keyof typeof DCAP_ERRORS | `ERR_QUOTE_${string}`;

export class DcapError extends ConfkubeError {}

/** Collateral that cannot be read (bad JSON, bad PEM/DER, missing parts). */
export class CollateralError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_COLLATERAL_INVALID', message, details);
  }
}
