import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AttestationStore } from './deps.js';
import { ConfkubeError } from '../lib/errors.js';
import { cloudError } from './errors.js';

/** Whether an error means "the database is not there" (ERR_STORE_UNAVAILABLE), as opposed to a bad request. */
export function isStoreUnavailable(e: unknown): boolean {
  return e instanceof ConfkubeError && e.code === 'ERR_STORE_UNAVAILABLE';
}

export interface StoreHealthOptions {
  registry: Registry;
  now: () => number;
  /** One line when an outage starts and one when it ends. */
  log: (msg: string) => void;
  /** While the store is down it is probed this often, so readiness comes back without traffic (default 500 ms). */
  probeMs?: number;
  /** The Retry-After of a 503, seconds (default 2). */
  retryAfterS?: number;
}

/**
 * Whether the store answers, learned from every call the service makes (a wrapped store) and from a probe
 * while it is down. An outage is one event: logged once when it starts and once when it ends, counted in
 * `confkube_store_outages_total`, shown by `confkube_store_up` and by `/readyz` (so Kubernetes stops routing to
 * a replica that cannot write its audit log), while `/livez` stays green (the process itself is fine and
 * reconnects by itself). Requests that need the store are answered 503 with Retry-After meanwhile.
 */
export class StoreHealth {
  private up = true;
  private downSince = 0;
  private refusedInOutage = 0;
  private lastOk = 0;
  private probe: NodeJS.Timeout | null = null;
  private readonly upGauge: Gauge;
  private readonly outages: Counter;
  private readonly refused: Counter;
  readonly retryAfterS: number;

  constructor(private readonly store: AttestationStore, private readonly o: StoreHealthOptions) {
    this.retryAfterS = o.retryAfterS ?? 2;
    this.upGauge = new Gauge({ name: 'confkube_store_up', help: '1 while the store (database) answers, 0 during an outage', registers: [o.registry] });
    this.outages = new Counter({ name: 'confkube_store_outages_total', help: 'Store outages since start (each logged once when it starts and once when it ends)', registers: [o.registry] });
    this.refused = new Counter({ name: 'confkube_store_unavailable_responses_total', help: 'Requests answered 503 because the store was unavailable', registers: [o.registry] });
    this.upGauge.set(1);
  }

  get isUp(): boolean {
    return this.up;
  }

  private wrapped: AttestationStore | null = null;

  /** The store as the service uses it: every call reports to this monitor. */
  wrap(): AttestationStore {
    const target = this.store;
    return (this.wrapped ??= new Proxy(target, {
      get: (t, prop, receiver) => {
        const v = Reflect.get(t, prop, receiver) as unknown;
        if (typeof v !== 'function' || prop === 'close') return v;
        return (...args: unknown[]) => {
          const r = (v as (...a: unknown[]) => unknown).apply(t, args);
          if (!(r instanceof Promise)) return r;
          return r.then((x) => {
            this.ok();
            return x;
          }, (e: unknown) => {
            if (isStoreUnavailable(e)) this.down(e as Error);
            throw e;
          });
        };
      },
    }));
  }

  private ok(): void {
    this.lastOk = this.o.now();
    if (this.up) return;
    this.up = true;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
    this.upGauge.set(1);
    this.o.log(`store available again after ${((this.o.now() - this.downSince) / 1000).toFixed(1)} s; ${this.refusedInOutage} requests were answered 503 meanwhile`);
  }

  private down(e: Error): void {
    if (!this.up) return;
    this.up = false;
    this.downSince = this.o.now();
    this.refusedInOutage = 0;
    this.upGauge.set(0);
    this.outages.inc();
    this.o.log(`store unavailable (${e.message}); answering 503 with Retry-After ${this.retryAfterS} s and not ready until it is back`);
    this.probe = setInterval(() => void this.check(), this.o.probeMs ?? 500);
    this.probe.unref();
  }

  /** One cheap query; the wrapped store records the outcome. */
  async check(): Promise<boolean> {
    try {
      await this.wrap().policyVersion();
    } catch {
      // recorded by the wrapper
    }
    return this.up;
  }

  /** Counts a request answered 503 because of the store. */
  refusedOne(): void {
    this.refusedInOutage++;
    this.refused.inc();
  }

  /** Readiness: the store answered within the last 2 s, or answers now. */
  async ready(): Promise<boolean> {
    if (this.up && this.o.now() - this.lastOk < 2000) return true;
    return this.check();
  }

  stop(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  /** The service's answer while the store is away: 503, Retry-After, MAA's error body; no stack trace. */
  unavailableBody(): { error: { code: string; message: string } } {
    this.refusedOne();
    return cloudError('ServiceUnavailable', `the attestation service cannot reach its database; retry after ${this.retryAfterS} s`);
  }
}

/**
 * `GET /livez`: the process serves requests (Kubernetes livenessProbe; a store outage does not fail it, since a
 * restart would not bring the database back). `GET /readyz`: the process can also write its audit log
 * (readinessProbe). Neither is an MAA route.
 */
export function healthRoutes(app: FastifyInstance, health: StoreHealth): void {
  app.get('/livez', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (await health.ready()) return { status: 'ready', store: 'up' };
    reply.header('retry-after', String(health.retryAfterS));
    return reply.code(503).send({ status: 'not ready', store: 'unavailable' });
  });
}
