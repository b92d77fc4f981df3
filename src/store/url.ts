import { StoreUrlError } from './errors.js';

export type StoreLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; connectionString: string; redacted: string };

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/**
 * Parses a store URL: `sqlite:/path/file.db`, `sqlite:relative.db`, `sqlite:///abs/file.db`, a bare path,
 * or `postgres://…` / `postgresql://…` (libpq's URI form, as `pg` reads it).
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreUrlError('store URL is empty: expected sqlite:/path/file.db or postgres://user@host:port/db');
  if (/[\0]/.test(url)) throw new StoreUrlError('store URL contains a NUL character');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  // A one-letter "scheme" is a Windows drive letter; a path is a path.
  if (scheme === undefined || scheme.length === 1) return { kind: 'sqlite', path: url };
  if (scheme === 'sqlite') {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) {
      // URL form: sqlite:///abs/file.db (empty host) or sqlite://localhost/abs/file.db.
      const rest = path.slice(2);
      const slash = rest.indexOf('/');
      const host = slash < 0 ? rest : rest.slice(0, slash);
      if (host !== '' && host !== 'localhost') throw new StoreUrlError(`store URL ${url}: SQLite is a local file, host "${host}" is not allowed (use sqlite:/path/file.db)`);
      path = slash < 0 ? '' : rest.slice(slash);
    }
    if (path === '') throw new StoreUrlError(`store URL ${url}: no file path after "sqlite:"`);
    return { kind: 'sqlite', path };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new StoreUrlError(`store URL ${redactUrl(url)} is not a valid PostgreSQL URL (postgres://user:password@host:port/database)`);
    }
    if (u.port !== '' && !(Number(u.port) >= 1 && Number(u.port) <= 65535)) throw new StoreUrlError(`store URL ${redactUrl(url)}: port ${u.port} is out of range`);
    const hostParam = u.searchParams.get('host');
    if (u.hostname === '' && !hostParam) throw new StoreUrlError(`store URL ${redactUrl(url)}: no host (postgres://user@host:port/database, or ?host=/socket/dir)`);
    return { kind: 'postgres', connectionString: url, redacted: redactUrl(url) };
  }
  throw new StoreUrlError(`store URL ${redactUrl(url)}: unknown scheme "${scheme}:" (expected sqlite: or postgres://)`);
}
