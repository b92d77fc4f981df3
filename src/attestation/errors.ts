import { ConfkubeError } from '../lib/errors.js';

/**
 * A request the service refuses. `status` is the HTTP status and `maaCode` the `error.code` of MAA's
 * CloudError body (docs/attestation.md §Errors): `{"error":{"code":"…","message":"…"}}`.
 */
export class AttestationError extends ConfkubeError {
  readonly status: number;
  readonly maaCode: string;
  /** Extra response headers (e.g. `retry-after` on a 429). */
  headers?: Record<string, string>;

  constructor(status: number, maaCode: string, message: string, code = 'ERR_ATTESTATION_REQUEST') {
    super(code, message);
    this.status = status;
    this.maaCode = maaCode;
  }
}

export const badRequest = (message: string, maaCode = 'InvalidParameter'): AttestationError => new AttestationError(400, maaCode, message);
export const unauthorized = (message: string): AttestationError => new AttestationError(401, 'Unauthorized', message, 'ERR_UNAUTHORIZED');

/** MAA's error body. */
export function cloudError(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * No collateral for a quote's platform (not the caller's fault: 503-free by design, reported as 400 like MAA).
 * Codes: ERR_COLLATERAL_UNAVAILABLE, ERR_COLLATERAL_NOT_FOUND (upstream 404), ERR_UPSTREAM_TIMEOUT.
 */
export class CollateralUnavailableError extends ConfkubeError {
  constructor(message: string, code = 'ERR_COLLATERAL_UNAVAILABLE') {
    super(code, message);
  }
}
