import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AttestationError, unauthorized } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Shorter bearer tokens are refused at start: a policy-management credential must not be guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

export interface ThrottleOptions {
  /** Failed attempts per client address within `windowMs` before further attempts are refused (default 10). */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Addresses tracked at most; the oldest entry goes first (default 4096), so the table stays bounded. */
  maxClients?: number;
}

interface Failures { count: number; since: number }

/** Dashboard roles (docs/dashboard.md §Roles): a viewer reads, an admin also edits policies. */
export type Role = 'admin' | 'viewer';

export interface Principal {
  role: Role;
  /** `admin:<8 hex>` or `viewer:<8 hex>` of the token's digest: names the caller in the audit log and policy history. */
  who: string;
}

/**
 * Policy management is always authenticated: `Authorization: Bearer <admin token>` with a configured token (the
 * Azure admin client always sends one, docs/attestation.md §Admin authentication), compared by digest in constant time. Isolated mode adds
 * signed bodies on top of this (routes/signed-request.ts), it does not replace it. Repeated 401s from one address
 * are throttled with 429 so a token cannot be guessed online.
 */
export class AdminAuth {
  private readonly digests: Buffer[];
  private readonly viewerDigests: Buffer[];
  private readonly failures = new Map<string, Failures>();
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxClients: number;

  constructor(tokens: readonly string[], private readonly now: () => number, o: ThrottleOptions = {}, viewerTokens: readonly string[] = []) {
    for (const [role, list] of [['admin', tokens], ['viewer', viewerTokens]] as const) {
      for (const t of list) {
        if (t.length < MIN_ADMIN_TOKEN_LENGTH) throw new AttestationError(400, 'InvalidParameter', `${role} token: ${t.length} characters, at least ${MIN_ADMIN_TOKEN_LENGTH} required`, 'ERR_ADMIN_TOKEN_TOO_SHORT');
      }
    }
    this.digests = tokens.map(digest);
    this.viewerDigests = viewerTokens.map(digest);
    this.maxFailures = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxClients = o.maxClients ?? 4096;
  }

  get configured(): boolean {
    return this.digests.length > 0;
  }

  /** The caller's identity for the audit log (`admin:<8 hex of the token digest>`), or a 401/429. */
  check(req: FastifyRequest): string {
    const client = req.ip;
    const t = this.throttle(client);
    if (!this.configured) throw this.fail(client, t, 'policy management is disabled: the service has no admin token configured');
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m) throw this.fail(client, t, 'policy management needs Authorization: Bearer <admin token>');
    const p = this.match(m[1]);
    if (p?.role === 'admin') {
      this.failures.delete(client);
      return p.who;
    }
    throw this.fail(client, t, p ? 'a viewer token cannot manage policies' : 'admin bearer token not recognised');
  }

  /**
   * A dashboard login or bearer call: an admin or a viewer token from CLIENT, under the same throttle as
   * management calls, so the login form is no faster an oracle than the API.
   */
  authenticate(token: string, client: string): Principal {
    const t = this.throttle(client);
    const p = this.match(token);
    if (p) {
      this.failures.delete(client);
      return p;
    }
    throw this.fail(client, t, this.configured || this.viewerDigests.length > 0 ? 'token not recognised' : 'the dashboard is disabled: the service has no admin or viewer token configured');
  }

  /** Every configured digest is compared, so the time taken does not say which list, if any, holds the token. */
  private match(token: string): Principal | null {
    const got = digest(token);
    let found: Principal | null = null;
    for (const [role, list] of [['admin', this.digests], ['viewer', this.viewerDigests]] as const) {
      for (const d of list) if (timingSafeEqual(got, d) && found === null) found = { role, who: `${role}:${d.toString('hex').slice(0, 8)}` };
    }
    return found;
  }

  /** Now, or a 429 while CLIENT has failed too often within the window. */
  private throttle(client: string): number {
    const t = this.now();
    const f = this.failures.get(client);
    if (f && t - f.since >= this.windowMs) this.failures.delete(client);
    else if (f && f.count >= this.maxFailures) {
      const e = new AttestationError(429, 'TooManyRequests', `too many failed authentications from ${client}; retry later`, 'ERR_AUTH_THROTTLED');
      e.headers = { 'retry-after': String(Math.max(1, Math.ceil((f.since + this.windowMs - t) / 1000))) };
      throw e;
    }
    return t;
  }

  private fail(client: string, t: number, message: string): AttestationError {
    const f = this.failures.get(client);
    if (f) f.count++;
    else {
      if (this.failures.size >= this.maxClients) {
        // Lapsed windows go first; only a table full of live entries drops its oldest.
        for (const [c, v] of this.failures) if (t - v.since >= this.windowMs) this.failures.delete(c);
        if (this.failures.size >= this.maxClients) this.failures.delete(this.failures.keys().next().value as string);
      }
      this.failures.set(client, { count: 1, since: t });
    }
    return unauthorized(message);
  }

  /** Addresses currently tracked (bounded by `maxClients`). */
  get trackedClients(): number {
    return this.failures.size;
  }
}
