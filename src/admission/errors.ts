import { ConfkubeError } from '../lib/errors.js';

/** An AdmissionReview that cannot be answered normally (bad JSON, wrong kind, no request or uid). */
export class ReviewError extends ConfkubeError {
  readonly httpStatus: number;
  constructor(code: string, message: string, httpStatus = 400) {
    super(code, message);
    this.httpStatus = httpStatus;
  }
}

/** The webhook's configuration (flags, config file) is unusable. */
export class WebhookConfigError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_WEBHOOK_CONFIG', message);
  }
}

/** The Kubernetes API could not answer a lookup (unreachable, timed out, forbidden) or answered unusable data. */
export class KubeApiError extends ConfkubeError {
  constructor(message: string, code = 'ERR_KUBE_API') {
    super(code, message);
  }
}
