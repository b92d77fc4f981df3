import Fastify, { type FastifyInstance } from 'fastify';
import { ConfkubeError } from '../lib/errors.js';
import { ReviewError } from './errors.js';
import { reviewRequest, type ReviewMode, type ReviewOptions } from './review.js';

export interface WebhookServerOptions extends ReviewOptions {
  /** PEM key and certificate; omitted only in tests that use fastify's inject. */
  tls?: { key: string | Buffer; cert: string | Buffer } | null;
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
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ...(options.tls ? { https: { key: options.tls.key, cert: options.tls.cert } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

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

  const route = (mode: ReviewMode) => async (req: { body: unknown }) => reviewRequest(req.body, mode, options);
  const schema = { body: { type: 'object' } };
  app.post('/mutate', { schema }, route('mutate'));
  app.post('/validate', { schema }, route('validate'));
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}
