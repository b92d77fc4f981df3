import { ConfkubeError } from '../lib/errors.js';

/** A Kubernetes quantity string that is not a valid quantity (the code predates src/kube and stays stable). */
export class QuantityError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_NODE_QUANTITY', message);
  }
}

/** A TLS key and certificate pair that cannot be served (unreadable, not PEM, or not a pair). */
export class TlsFilesError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_TLS_FILES', message);
  }
}
