import { ConfkubeError } from '../../lib/errors.js';
import { StoreConflictError, StoreQueryError, StoreUnavailableError } from '../errors.js';

/** Node socket errors that mean the server cannot be reached. */
const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT', 'EACCES']);

/**
 * SQLSTATEs (PostgreSQL docs, Appendix A) that mean "the database is not there for us": class 08 connection
 * exception, 57P0x shutdown / cannot connect now, 53300 too many connections, 28xxx authorisation, 3D000 no such database.
 */
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || /^57P0[1-4]$/.test(code) || code === '53300' || code.startsWith('28') || code === '3D000';
}

function codeOf(e: unknown): string | undefined {
  if (e instanceof AggregateError) return codeOf(e.errors[0]);
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

function messageOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map((x) => (x as Error).message).join('; ');
  return (e as Error)?.message ?? String(e);
}

export function isConnectionError(e: unknown): boolean {
  const code = codeOf(e);
  if (code !== undefined && (NET_CODES.has(code) || unavailableSqlState(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|not queryable/i.test(messageOf(e));
}

/** `pg` errors → the store's typed errors; WHERE names the store (URL without password) and the operation. */
export function translatePgError(e: unknown, where: string): ConfkubeError {
  if (e instanceof ConfkubeError) return e;
  const code = codeOf(e);
  const msg = messageOf(e);
  if (isConnectionError(e)) return new StoreUnavailableError(`PostgreSQL store ${where}: database unavailable: ${msg}`, code ? { code } : undefined);
  if (code === '23505') return new StoreConflictError(`PostgreSQL store ${where}: ${msg}`);
  return new StoreQueryError(`PostgreSQL store ${where}: ${msg}`, code ? { code } : undefined);
}
