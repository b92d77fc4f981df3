import { Gauge, type Registry } from 'prom-client';
import type { Keyring } from './keyring.js';

/**
 * The signing-key schedule in /metrics, so operators see which key signs, which is pending, and when each retired
 * key leaves /certs (keyring.ts): `confkube_signing_key_state{kid,state}` is 1 for each published key;
 * `…_active_from_seconds`, `…_retired_at_seconds` and `…_unpublish_at_seconds` are Unix times.
 */
export function keyScheduleMetrics(registry: Registry, keyring: Keyring): void {
  const from = new Gauge({ name: 'confkube_signing_key_active_from_seconds', help: 'When each published key signs (or signed) from, Unix time', labelNames: ['kid'], registers: [] });
  const retired = new Gauge({ name: 'confkube_signing_key_retired_at_seconds', help: 'When each retired key stopped (or stops) signing, Unix time', labelNames: ['kid'], registers: [] });
  const unpublish = new Gauge({ name: 'confkube_signing_key_unpublish_at_seconds', help: 'When each retired key leaves /certs (its last tokens expired), Unix time', labelNames: ['kid'], registers: [] });
  // Registered after the state gauge, whose collect() fills all four: a registry serialises in registration order.
  new Gauge({
    name: 'confkube_signing_key_state', help: 'Published token signing keys (1), by kid and state: pending, signing, retired', labelNames: ['kid', 'state'], registers: [registry],
    collect() {
      for (const g of [this, from, retired, unpublish]) g.reset();
      for (const k of keyring.schedule()) {
        this.set({ kid: k.kid, state: k.state }, 1);
        from.set({ kid: k.kid }, k.activeFrom / 1000);
        if (k.retiredAt !== null) retired.set({ kid: k.kid }, k.retiredAt / 1000);
        if (k.unpublishAt !== null) unpublish.set({ kid: k.kid }, k.unpublishAt / 1000);
      }
    },
  });
  for (const g of [from, retired, unpublish]) registry.registerMetric(g);
}
