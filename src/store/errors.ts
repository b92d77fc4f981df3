import { ConfkubeError } from '../lib/errors.js';

/** A store URL that names no backend confkube has, or names one badly. */
export class StoreUrlError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_STORE_URL', message);
  }
}

/** The database cannot be reached or opened (server down, refused, missing folder, authentication). */
export class StoreUnavailableError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_STORE_UNAVAILABLE', message, details);
  }
}

/** A write that contradicts what is stored (a signing key id that already exists, an unknown key retired). */
export class StoreConflictError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_STORE_CONFLICT', message);
  }
}

/** Bad arguments to a store call (a negative limit, a non-integer time). */
export class StoreArgumentError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_STORE_ARGUMENT', message);
  }
}

/** Any other database failure, with the backend's own message. */
export class StoreQueryError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_STORE_QUERY', message, details);
  }
}
