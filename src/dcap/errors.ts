import { ConfkubeError } from '../lib/errors.js';

/**
 * Collateral that cannot be read (bad JSON, bad PEM/DER, missing parts). Verification failures are not thrown:
 * a verdict reports them as `{ code, message }` issues (verify-quote.ts).
 */
export class CollateralError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_COLLATERAL_INVALID', message, details);
  }
}
