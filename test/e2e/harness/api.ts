// A small REST client for the e2e harness: the admin's client certificate over HTTPS, JSON in and out, the
// patch content types the API server knows. The product's own code talks through @kubernetes/client-node; the
// harness keeps its own client so a bug there cannot hide itself in both.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { Pki } from './pki.js';

export type Json = Record<string, unknown>;

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: string, what: string) {
    super(`${what}: HTTP ${status} ${body.slice(0, 300)}`);
  }
}

const PATCH = { merge: 'application/merge-patch+json', strategic: 'application/strategic-merge-patch+json', json: 'application/json-patch+json' } as const;

export class Api {
  private readonly agent: Agent;

  constructor(readonly server: string, pki: Pki, user = 'admin') {
    const c = pki.cert(user);
    this.agent = new Agent({ ca: readFileSync(pki.ca), cert: readFileSync(c.cert), key: readFileSync(c.key), keepAlive: true, maxSockets: 8 });
  }

  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.server), {
        method, agent: this.agent, timeout: 30_000,
        headers: { accept: 'application/json', ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  private async json(method: string, path: string, body?: unknown, contentType?: string): Promise<Json> {
    const r = await this.request(method, path, body, contentType);
    if (r.status >= 300) throw new ApiError(r.status, r.body, `${method} ${path}`);
    return JSON.parse(r.body) as Json;
  }

  get(path: string): Promise<Json> {
    return this.json('GET', path);
  }

  /** GET that answers null for 404. */
  async find(path: string): Promise<Json | null> {
    const r = await this.request('GET', path);
    if (r.status === 404) return null;
    if (r.status >= 300) throw new ApiError(r.status, r.body, `GET ${path}`);
    return JSON.parse(r.body) as Json;
  }

  post(path: string, body: unknown): Promise<Json> {
    return this.json('POST', path, body);
  }

  put(path: string, body: unknown): Promise<Json> {
    return this.json('PUT', path, body);
  }

  patch(path: string, body: unknown, kind: keyof typeof PATCH = 'merge'): Promise<Json> {
    return this.json('PATCH', path, body, PATCH[kind]);
  }

  async delete(path: string, body?: unknown): Promise<void> {
    const r = await this.request('DELETE', path, body);
    if (r.status >= 300 && r.status !== 404) throw new ApiError(r.status, r.body, `DELETE ${path}`);
  }

  close(): void {
    this.agent.destroy();
  }
}
