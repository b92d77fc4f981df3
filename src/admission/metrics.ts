import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A review's outcome: allowed untouched, allowed with a patch, or refused. */
export type Decision = 'allowed' | 'patched' | 'denied';

/**
 * The webhook's Prometheus metrics (docs/kube-operations.md §Metrics). Label values are bounded: `kind` is one
 * of the admitted kinds or `other`, never a user's string.
 */
export class WebhookMetrics {
  readonly registry = new Registry();
  readonly reviews: Counter<'mode' | 'kind' | 'decision' | 'sgx'>;
  readonly duration: Histogram<'mode' | 'sgx'>;
  readonly certNotAfter: Gauge;
  readonly certReloads: Counter<'result'>;
  readonly dependency: Gauge<'dependency'>;

  constructor(defaults = false) {
    const registers = [this.registry];
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'confkube_webhook_' });
    this.reviews = new Counter({ name: 'confkube_webhook_reviews_total', help: 'AdmissionReviews answered, by path (mutate, validate), object kind, decision (allowed, patched, denied) and whether the object asks for SGX.', labelNames: ['mode', 'kind', 'decision', 'sgx'], registers });
    this.duration = new Histogram({ name: 'confkube_webhook_review_duration_seconds', help: 'Time to answer an AdmissionReview, from parsed body to answer.', labelNames: ['mode', 'sgx'], buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.certNotAfter = new Gauge({ name: 'confkube_webhook_certificate_not_after_timestamp_seconds', help: 'notAfter of the serving certificate in use (Unix seconds).', registers });
    this.certReloads = new Counter({ name: 'confkube_webhook_certificate_reloads_total', help: 'Serving certificate reloads from the TLS files: success (a new pair in service) or error (files that did not load; the old pair stays).', labelNames: ['result'], registers });
    this.dependency = new Gauge({ name: 'confkube_webhook_dependency_up', help: 'Whether a dependency is working now (1) or lost (0): the node informer\'s watch.', labelNames: ['dependency'], registers });
    this.certReloads.inc({ result: 'success' }, 0);
    this.certReloads.inc({ result: 'error' }, 0);
  }
}
