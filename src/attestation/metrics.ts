import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics (issue 6): attestations by decision and TCB status, latency, collateral age. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly attestations: Counter<'type' | 'decision' | 'tcb_status' | 'simulated'>;
  readonly latency: Histogram<'type'>;
  readonly collateralAge: Gauge<'key'>;
  readonly collateralNextUpdate: Gauge<'key'>;
  readonly policyWrites: Counter<'type' | 'result'>;

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: 'confkube_' });
    this.attestations = new Counter({ name: 'confkube_attestations_total', help: 'Attestation requests by decision and TCB status', labelNames: ['type', 'decision', 'tcb_status', 'simulated'], registers: [this.registry] });
    this.latency = new Histogram({ name: 'confkube_attestation_duration_seconds', help: 'Time to answer an attestation (verify, policy, sign, audit)', labelNames: ['type'], buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1], registers: [this.registry] });
    this.collateralAge = new Gauge({ name: 'confkube_collateral_age_seconds', help: 'Age of each cached collateral item', labelNames: ['key'], registers: [this.registry] });
    this.collateralNextUpdate = new Gauge({ name: 'confkube_collateral_next_update_seconds', help: 'Seconds until the nextUpdate of each cached collateral item (negative: stale)', labelNames: ['key'], registers: [this.registry] });
    this.policyWrites = new Counter({ name: 'confkube_policy_writes_total', help: 'Policy and policy-certificate writes', labelNames: ['type', 'result'], registers: [this.registry] });
  }
}
