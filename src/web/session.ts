import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminAuth, Principal } from '../attestation/admin-auth.js';
import { AttestationError, unauthorized } from '../attestation/errors.js';

/**
 * Dashboard sessions (docs/dashboard.md §Login): a token is exchanged once for a random session id in an
 * HttpOnly, Secure, SameSite=Strict cookie with the `__Host-` prefix (RFC 6265bis §4.1.3.2: Secure, Path=/, no
 * Domain, so no sibling host can set or read it). Only the id's SHA-256 is kept, in this process: a replica
 * that did not issue a session asks for a new login. Writes also need the session's CSRF token in a header,
 * which a cross-site form cannot send.
 */
export const SESSION_COOKIE = '__Host-confkube-ui';
export const CSRF_HEADER = 'x-confkube-csrf';

export interface SessionOptions {
  /** A session unused this long ends (default 1 h). */
  idleMs?: number;
  /** A session ends this long after login whatever its use (default 12 h). */
  maxAgeMs?: number;
  /** Sessions kept at most; the oldest goes first (default 10,000). */
  maxSessions?: number;
}

interface Session { principal: Principal; csrf: string; created: number; lastSeen: number }

export interface Caller extends Principal {
  /** Set when the caller came with the session cookie: writes must echo it in the CSRF header. */
  csrf: string | null;
}

const idDigest = (id: string): string => createHash('sha256').update(id).digest('base64url');

export class Sessions {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;

  constructor(private readonly auth: AdminAuth, private readonly now: () => number, o: SessionOptions = {}) {
    this.idleMs = o.idleMs ?? 3_600_000;
    this.maxAgeMs = o.maxAgeMs ?? 12 * 3_600_000;
    this.maxSessions = o.maxSessions ?? 10_000;
  }

  /** Exchanges TOKEN for a session; the answer carries the cookie. 401/429 as the management API. */
  login(token: unknown, req: FastifyRequest, reply: FastifyReply): Caller {
    if (typeof token !== 'string' || token === '') throw new AttestationError(400, 'InvalidParameter', 'login: body must be {"token": "<admin or viewer token>"}');
    const principal = this.auth.authenticate(token, req.ip);
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    if (this.sessions.size >= this.maxSessions) this.sweep(t);
    if (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value as string);
    const s: Session = { principal, csrf: randomBytes(24).toString('base64url'), created: t, lastSeen: t };
    this.sessions.set(idDigest(id), s);
    reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict`);
    return { ...principal, csrf: s.csrf };
  }

  logout(req: FastifyRequest, reply: FastifyReply): void {
    const id = cookieOf(req, SESSION_COOKIE);
    if (id !== null) this.sessions.delete(idDigest(id));
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
  }

  /** The caller by bearer token (scripts, the benchmark) or by session cookie (the browser), or null. */
  caller(req: FastifyRequest): Caller | null {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (bearer) return { ...this.auth.authenticate(bearer[1], req.ip), csrf: null };
    const id = cookieOf(req, SESSION_COOKIE);
    if (id === null) return null;
    const key = idDigest(id);
    const s = this.sessions.get(key);
    const t = this.now();
    if (!s) return null;
    if (t - s.lastSeen > this.idleMs || t - s.created > this.maxAgeMs) {
      this.sessions.delete(key);
      return null;
    }
    s.lastSeen = t;
    return { ...s.principal, csrf: s.csrf };
  }

  /** The caller or a 401 (for API calls). */
  require(req: FastifyRequest): Caller {
    const c = this.caller(req);
    if (!c) throw unauthorized('the dashboard needs a login (POST /ui/api/login) or Authorization: Bearer <admin or viewer token>');
    return c;
  }

  /**
   * An admin allowed to write: a cookie caller must send the session's CSRF token in `x-confkube-csrf` (a
   * cross-site page can neither read it nor set the header without a CORS preflight this service never grants).
   */
  requireAdminWrite(req: FastifyRequest): Caller {
    const c = this.require(req);
    if (c.role !== 'admin') throw new AttestationError(403, 'Forbidden', `${c.who}: a viewer cannot change policies`);
    if (c.csrf !== null) {
      const got = req.headers[CSRF_HEADER];
      if (typeof got !== 'string' || !sameString(got, c.csrf)) throw new AttestationError(403, 'Forbidden', `missing or wrong ${CSRF_HEADER} header`);
    }
    return c;
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(t: number): void {
    for (const [k, s] of this.sessions) if (t - s.lastSeen > this.idleMs || t - s.created > this.maxAgeMs) this.sessions.delete(k);
  }
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One cookie's value from the Cookie header (RFC 6265 §5.4: `name=value` pairs separated by `; `). */
export function cookieOf(req: FastifyRequest, name: string): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}
