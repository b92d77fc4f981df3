import { request } from 'node:https';
import { ClientError, type ClientErrorCode } from './errors.js';

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  attempts?: number;
  /** First back-off delay in ms, doubled after each failure (default 250). */
  baseDelayMs?: number;
  /** Longest back-off delay in ms, `Retry-After` included (default 10 000). */
  maxDelayMs?: number;
  /** Told before each wait: which try failed, how long the client waits, and why. */
  onRetry?: (info: { attempt: number; delayMs: number; error: ClientError }) => void;
}

export interface HttpTarget {
  /** Ends with `/`. */
  baseUrl: URL;
  /** PEM of the CA that signs the service's certificate; absent: Node's default CAs. */
  ca?: string;
  /** Per request: connection, answer and body (ms). */
  timeoutMs: number;
}

/** A failure worth another try (network, 5xx): carries the error to throw if the tries run out. */
class Retryable extends Error {
  constructor(readonly error: ClientError, readonly retryAfterMs?: number) {
    super(error.message);
  }
}

const MAX_BODY = 1 << 20;
// Node's TLS verification failures (tls.TLSSocket authorizationError codes) and OpenSSL's handshake errors: no retry mends them.
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|CERT_|HOSTNAME_MISMATCH)/;

const STATUS_CODES: Record<number, ClientErrorCode> = { 400: 'ERR_CLIENT_BAD_REQUEST', 401: 'ERR_CLIENT_UNAUTHORIZED', 403: 'ERR_CLIENT_RELEASE_DENIED', 404: 'ERR_CLIENT_KEY_NOT_FOUND' };

/** The service's error body (`{"error":{"code","message"}}`, MAA's CloudError shape), when it is one. */
function serviceError(text: string): { code?: string; message?: string } {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), ...(typeof e?.message === 'string' ? { message: e.message } : {}) };
  } catch {
    return {};
  }
}

/** `Retry-After` in seconds or as an HTTP date, in ms from now. */
function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/**
 * POST a JSON body to the service and parse its JSON answer. A 2xx resolves; a 4xx throws the ClientError its
 * status maps to, with the service's error code and message; network failures and 5xx throw Retryable.
 */
export function postJson(t: HttpTarget, path: string, body: unknown, what: string): Promise<Record<string, unknown>> {
  // Relative to the base URL, which may carry a path prefix (a service behind a proxy).
  const url = new URL(path.replace(/^\//, ''), t.baseUrl);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      ...(t.ca !== undefined ? { ca: t.ca } : {}),
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(payload.length) },
      timeout: t.timeoutMs,
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          res.destroy();
          reject(new ClientError('ERR_CLIENT_BAD_RESPONSE', `${what}: the answer of ${url.origin} is larger than ${MAX_BODY} bytes`));
        } else chunks.push(c);
      });
      res.on('error', (e) => reject(new Retryable(new ClientError('ERR_CLIENT_UNREACHABLE', `${what}: the answer of ${url.origin} broke off: ${e.message}`))));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        if (status >= 200 && status < 300) {
          try {
            const json = JSON.parse(text) as unknown;
            if (json && typeof json === 'object' && !Array.isArray(json)) return resolve(json as Record<string, unknown>);
          } catch {
            // reported below
          }
          return reject(new ClientError('ERR_CLIENT_BAD_RESPONSE', `${what}: ${url.origin} answered ${status} without a JSON object`));
        }
        const se = serviceError(text);
        const said = se.message ? `: ${se.code ? `${se.code}: ` : ''}${se.message}` : '';
        const service = { status, ...se };
        if (status >= 500) {
          return reject(new Retryable(new ClientError('ERR_CLIENT_UNAVAILABLE', `${what}: ${url.origin} answered ${status}${said}`, service), status === 503 ? retryAfterMs(res.headers['retry-after']) : undefined));
        }
        reject(new ClientError(STATUS_CODES[status] ?? 'ERR_CLIENT_REFUSED', `${what}: ${url.origin} answered ${status}${said}`, service));
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${t.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (TLS_CODES.test(code)) {
        return reject(new ClientError('ERR_CLIENT_TLS', `${what}: TLS with ${url.origin} failed: ${code}: ${e.message} (is CONFKUBE_ATTESTATION_CA the CA that signs the service's certificate?)`));
      }
      reject(new Retryable(new ClientError('ERR_CLIENT_UNREACHABLE', `${what}: cannot reach ${url.origin}: ${code || e.message}${code && e.message && !e.message.includes(code) ? ` (${e.message})` : ''}`)));
    });
    req.end(payload);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Run `op` until it succeeds, fails for good (a 4xx, a bad answer, TLS), or the tries run out
 * (docs/enclave-apps.md §Retries): exponential back-off with jitter, `Retry-After` honoured up to `maxDelayMs`.
 */
export async function withRetries<T>(op: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, o.attempts ?? 5);
  const base = o.baseDelayMs ?? 250;
  const max = o.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      if (attempt >= attempts) {
        const err = e.error;
        err.message = `${err.message} (gave up after ${attempts} tr${attempts === 1 ? 'y' : 'ies'})`;
        throw err;
      }
      const backoff = Math.min(max, base * 2 ** (attempt - 1));
      const delayMs = Math.min(max, e.retryAfterMs ?? Math.round(backoff / 2 + (Math.random() * backoff) / 2));
      o.onRetry?.({ attempt, delayMs, error: e.error });
      await sleep(delayMs);
    }
  }
}
