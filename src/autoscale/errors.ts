import { ConfkubeError } from '../lib/errors.js';

/** A custom metrics request the API does not define (bad path, selector or metric): HTTP 400 or 404. */
export class MetricsRequestError extends ConfkubeError {
  constructor(
    code: 'ERR_METRICS_BAD_REQUEST' | 'ERR_METRICS_NOT_FOUND',
    message: string,
    readonly status: 400 | 404,
  ) {
    super(code, message);
  }
}

export const badRequest = (message: string): MetricsRequestError => new MetricsRequestError('ERR_METRICS_BAD_REQUEST', message, 400);
export const notFound = (message: string): MetricsRequestError => new MetricsRequestError('ERR_METRICS_NOT_FOUND', message, 404);

/** A node agent's metrics could not be read or parsed (what and which agent in the message). */
export class ScrapeError extends ConfkubeError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_AUTOSCALE_SCRAPE', message, details);
  }
}

/** The metrics adapter's configuration (flags, files) is unusable. */
export class AutoscaleConfigError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_AUTOSCALE_CONFIG', message);
  }
}
