import { createServer as createHttpServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { cloudError } from './errors.js';

/**
 * How long a client may take and how many it may be (docs/attestation-limits.md). A slow client is cut off at
 * each stage: TLS handshake, request headers, whole request (a body dripping one byte at a time), and the idle
 * time between keep-alive requests.
 */
export interface ConnectionLimits {
  /** A TCP connection that does not finish its TLS handshake in this time is closed (ms). */
  handshakeTimeoutMs: number;
  /** The request line and headers must arrive in this time, counted from the connection or the previous response (ms). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive in this time (ms). */
  requestTimeoutMs: number;
  /** A keep-alive connection idle this long after a response is closed (ms). */
  idleTimeoutMs: number;
  /** Connections open at once; further ones are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  maxConnections: 1024,
};

/**
 * TLS 1.2 suites: ECDHE key exchange with AEAD only (Mozilla "intermediate"): no CBC (SHA-1 or SHA-2), no CCM8
 * (short tags), no ARIA/Camellia, no static RSA. TLS 1.3 suites are all AEAD; Node's defaults are kept.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
] as const;
const TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/** Headers on every answer: nothing the service says is cached or content-sniffed; HTTPS only once seen over TLS. */
export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}

/** The node server behind fastify (its `serverFactory`), with the limits above and the TLS settings. */
export function createNodeServer(handler: RequestListener, tls: { key: string | Buffer; cert: string | Buffer } | undefined, l: ConnectionLimits): Server {
  if (l.headersTimeoutMs > l.requestTimeoutMs) throw new RangeError(`headersTimeoutMs ${l.headersTimeoutMs} exceeds requestTimeoutMs ${l.requestTimeoutMs}`);
  const timeouts = {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
    // Node checks the header and request deadlines on this tick (default 30 s, longer than the deadlines themselves).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(l.headersTimeoutMs / 4))),
  };
  const server: Server = tls
    ? createHttpsServer({
      key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2', ciphers: [...TLS13_CIPHERS, ...TLS12_CIPHERS].join(':'), honorCipherOrder: true,
      handshakeTimeout: l.handshakeTimeoutMs, ...timeouts,
    }, handler)
    : createHttpServer(timeouts, handler);
  server.maxConnections = l.maxConnections;
  return server;
}

const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'RequestTimeout', message: 'the request did not arrive in time' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'RequestHeaderFieldsTooLarge', message: 'request headers larger than the server accepts' },
};

/**
 * Errors node's HTTP parser raises before a request reaches fastify (header overflow, timeouts, malformed
 * requests) answered with the service's error body instead of node's, then the connection is closed.
 */
export function clientErrorHandler(tls: boolean): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const e = CLIENT_ERRORS[err.code ?? ''] ?? { status: 400, code: 'InvalidParameter', message: `malformed HTTP request (${err.code ?? 'parse error'})` };
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify(cloudError(e.code, e.message));
    const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), connection: 'close', ...securityHeaders(tls) };
    socket.end(`HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);
    // A client that does not read the answer does not keep the socket.
    socket.setTimeout(1000, () => socket.destroy());
  };
}
