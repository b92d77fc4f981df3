import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Fetcher } from './pcs-source.js';

/**
 * A fetch for one service whose TLS certificate is signed by a CA of the caller's (the global fetch trusts only the
 * system store). Bodies are read whole: PCS answers are small.
 */
export function fetchTrusting(ca: Buffer | string | undefined): Fetcher {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const u = new URL(url);
      const body = typeof init.body === 'string' ? init.body : undefined;
      const headers = { ...(init.headers as Record<string, string> | undefined), ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(u, { method: init.method ?? 'GET', headers, ...(u.protocol === 'https:' && ca ? { ca } : {}), signal: init.signal ?? undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          const status = res.statusCode ?? 502;
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
}
