import { ConfkubeError } from '../lib/errors.js';

/**
 * Every failure of the enclave client (docs/enclave-apps.md §Errors). `code` is stable; for an answer of the
 * service, `status`, `serviceCode` and `serviceMessage` carry its HTTP status and its error body
 * (`{"error":{"code","message"}}`), so a refusal says which check failed.
 */
export class ClientError extends ConfkubeError {
  readonly status?: number;
  readonly serviceCode?: string;
  readonly serviceMessage?: string;

  constructor(code: ClientErrorCode, message: string, service?: { status: number; code?: string; message?: string }) {
    super(code, message, service ? { ...service } : undefined);
    if (service) {
      this.status = service.status;
      if (service.code !== undefined) this.serviceCode = service.code;
      if (service.message !== undefined) this.serviceMessage = service.message;
    }
  }
}

export type ClientErrorCode =
  /** The client's options or environment are incomplete or wrong (no URL, unreadable CA file, bad option). */
  | 'ERR_CLIENT_CONFIG'
  /** The quote source failed: no attestation directory, attestation type not `dcap`, a write or read refused. */
  | 'ERR_CLIENT_QUOTE_SOURCE'
  /** The quote source did not answer with a quote carrying the report data written, in time. */
  | 'ERR_CLIENT_QUOTE_TIMEOUT'
  /** The quote returned carries other report data than the client asked for. */
  | 'ERR_CLIENT_REPORT_DATA_MISMATCH'
  /** The service's TLS certificate is not signed by the configured CA (or the handshake failed otherwise). */
  | 'ERR_CLIENT_TLS'
  /** The service could not be reached, after the retries. */
  | 'ERR_CLIENT_UNREACHABLE'
  /** The service answered 5xx, after the retries. */
  | 'ERR_CLIENT_UNAVAILABLE'
  /** 400: the service refused the request as malformed. */
  | 'ERR_CLIENT_BAD_REQUEST'
  /** 401: the service wants credentials. */
  | 'ERR_CLIENT_UNAUTHORIZED'
  /** 403: the release was refused; `serviceMessage` names the failed check. */
  | 'ERR_CLIENT_RELEASE_DENIED'
  /** 404: no such key or version. */
  | 'ERR_CLIENT_KEY_NOT_FOUND'
  /** Any other 4xx. */
  | 'ERR_CLIENT_REFUSED'
  /** The service's answer is not what the protocol says (not JSON, a field missing). */
  | 'ERR_CLIENT_BAD_RESPONSE'
  /** The released JWE does not open with the enclave's key, or its header is not the one asked for. */
  | 'ERR_CLIENT_JWE_INVALID';
