/**
 * One base class with a stable `code`, as jose does (JOSEError → JWSSignatureVerificationFailed).
 * Every part of confkube throws a subclass of ConfkubeError for bad input; messages say what and where.
 */
export class ConfkubeError extends Error {
  /** Stable, machine-readable code such as `ERR_QUOTE_TRUNCATED`. */
  readonly code: string;
  /** Optional structured details (offsets, expected/actual values). */
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

export function isConfkubeError(e: unknown): e is ConfkubeError {
  return e instanceof ConfkubeError;
}
