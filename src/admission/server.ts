import type { Server as TlsServer } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CertWatcher } from '../kube/cert-watcher.js';
import { ConfkubeError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { ReviewError } from './errors.js';
import type { Decision, WebhookMetrics } from './metrics.js';
import { POD_SPEC_PATHS } from './pod-spec.js';
import { reviewWithFacts, type ReviewMode, type ReviewOptions } from './review.js';

export interface WebhookServerOptions extends ReviewOptions {
  /** PEM key and certificate; omitted only in tests that use fastify's inject. */
  tls?: { key: string | Buffer; cert: string | Buffer } | null;
  /** Serves its current pair and swaps it into the running server when the files change (instead of `tls`). */
  certWatcher?: CertWatcher | null;
  metrics?: WebhookMetrics | null;
  /** One line per decision (docs/kube-operations.md §Decision log). */
  log?: Logger;
  /**
   * Largest accepted body. etcd caps an object at 1.5 MiB and an UPDATE review carries object and oldObject,
   * so the default (8 MiB) admits every review an API server can send and still refuses a runaway client.
   */
  bodyLimit?: number;
  /** A request whose body has not arrived by then is dropped (the API server gives up after 30 s at most). */
  requestTimeoutMs?: number;
  logger?: boolean;
}

const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

function errorBody(code: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message };
}

/**
 * The webhook over HTTPS: POST /mutate and /validate take AdmissionReview v1, /healthz answers. Every bad
 * input gets a 4xx with a Status body that says why; nothing reaches a 500.
 */
export function createWebhookServer(options: WebhookServerOptions = {}): FastifyInstance {
  const watcher = options.certWatcher ?? null;
  const tls = watcher ? watcher.current : options.tls;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  const metrics = options.metrics ?? null;
  const log = (options.log ?? silentLogger).child({ component: 'admission' });
  if (watcher) {
    metrics?.certNotAfter.set(watcher.current.notAfter.getTime() / 1000);
    // New connections get the new pair. Kept-alive connections would go on with the old one for as long as the
    // API server keeps them (its HTTP/2 pings hold them open), so the idle ones are closed: the next review opens a
    // new connection and checks the new certificate against the caBundle. Reviews in flight finish undisturbed.
    watcher.onChange((p) => {
      (app.server as unknown as TlsServer).setSecureContext({ key: p.key, cert: p.cert });
      (app.server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      metrics?.certNotAfter.set(p.notAfter.getTime() / 1000);
      metrics?.certReloads.inc({ result: 'success' });
    });
    watcher.onFailure(() => metrics?.certReloads.inc({ result: 'error' }));
  }

  // AdmissionReviews are JSON: anything else is 415, not a string the schema then rejects.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    if (err instanceof ReviewError) return reply.code(err.httpStatus).send(errorBody(err.code, err.message));
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : null;
    if (status !== null) {
      const msg =
        status === 413 ? `body larger than ${options.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes (an AdmissionReview holds at most two 1.5 MiB objects)` : status === 415 ? 'Content-Type must be application/json' : err.message;
      return reply.code(status).send(errorBody(err.code ?? `HTTP_${status}`, msg));
    }
    if (err instanceof ConfkubeError) return reply.code(400).send(errorBody(err.code, err.message));
    app.log.error(err);
    return reply.code(500).send(errorBody('ERR_INTERNAL', 'internal error'));
  });

  const route = (mode: ReviewMode) => async (req: { body: unknown }) => {
    const t0 = process.hrtime.bigint();
    const { review, facts } = await reviewWithFacts(req.body, mode, options);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const r = review.response;
    const decision: Decision = !r.allowed ? 'denied' : r.patch ? 'patched' : 'allowed';
    const sgx = String(facts.sgx);
    metrics?.reviews.inc({ mode, kind: Object.hasOwn(POD_SPEC_PATHS, facts.kind) ? facts.kind : 'other', decision, sgx });
    metrics?.duration.observe({ mode, sgx }, seconds);
    // SGX decisions and refusals at info; the untouched pass of an ordinary object at debug (every pod in the
    // cluster comes through here).
    const line = {
      uid: r.uid, mode, decision, sgx: facts.sgx, kind: facts.kind, operation: facts.operation, namespace: facts.namespace, name: facts.name,
      patchOps: facts.patchOps, warnings: r.warnings?.length ?? 0, ...(r.status ? { reason: r.status.message } : {}), durationMs: Math.round(seconds * 1e6) / 1e3,
    };
    if (facts.sgx || !r.allowed) log.info('admission decision', line);
    else log.debug('admission decision', line);
    return review;
  };
  const schema = { body: { type: 'object' } };
  app.post('/mutate', { schema }, route('mutate'));
  app.post('/validate', { schema }, route('validate'));
  // Liveness and readiness: the process answers HTTPS with its current certificate. The node informer is not a
  // readiness condition: without it SGX pods are still mutated, with a warning, and ordinary pods never need it.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ok', ...(watcher ? { certificate: { fingerprint: watcher.current.fingerprint, notAfter: watcher.current.notAfter.toISOString() } } : {}) }));
  return app;
}
