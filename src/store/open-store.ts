import type { Store } from './types.js';
import { parseStoreUrl } from './url.js';
import { SqliteStore } from './sqlite/store.js';
import { PostgresStore } from './postgres/store.js';

/**
 * Opens the store a URL names — `sqlite:/path/file.db` (or a bare path) or `postgres://…` / `postgresql://…` —
 * checks the database answers, and brings its schema up to date (`migrate` is idempotent and safe when several
 * processes open one database at once). Bad URLs throw ERR_STORE_URL; an unreachable database ERR_STORE_UNAVAILABLE.
 */
export interface OpenStoreOptions {
  /** Hears of store files or folder that other local users can read (SQLite); default: nothing said. */
  warn?: (msg: string) => void;
}

export async function openStore(url: string, o: OpenStoreOptions = {}): Promise<Store> {
  const loc = parseStoreUrl(url);
  const store: Store = loc.kind === 'sqlite' ? SqliteStore.open(loc.path, o.warn) : await PostgresStore.open(loc.connectionString, loc.redacted);
  try {
    await store.migrate();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
