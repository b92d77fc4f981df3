// The two backends the store suite runs against: a SQLite file in a temporary folder, and a throwaway PostgreSQL
// server (test/helpers/postgres.ts) with a fresh database per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { openStore, type Store } from '../../../src/store/index.js';
import { startPostgres } from '../../helpers/postgres.js';

export type BackendKind = 'sqlite' | 'postgres';
export const BACKENDS: readonly BackendKind[] = ['sqlite', 'postgres'];

export interface Backend {
  kind: BackendKind;
  /** A URL naming an empty database nobody else uses. */
  freshUrl(): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startBackend(kind: BackendKind): Promise<Backend> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'confkube-store-'));
    return {
      kind,
      async freshUrl() { return `sqlite:${join(dir, `store-${++counter}.db`)}`; },
      async stop() { rmSync(dir, { recursive: true, force: true }); },
    };
  }
  const server = await startPostgres();
  return {
    kind,
    async freshUrl() {
      const name = `store_${process.pid}_${++counter}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return server.url.replace(/\/postgres$/, `/${name}`);
    },
    stop: () => server.stop(),
  };
}

/**
 * Inside a describe: the backend is started before its tests and stopped after them, and every store `fresh()`
 * opens (on a new database, or on URL) or `closeAfter` is given is closed with it.
 */
export function suiteBackend(kind: BackendKind): { backend: () => Backend; fresh: (url?: string) => Promise<Store>; closeAfter: (...stores: Store[]) => void } {
  let backend: Backend;
  const opened: Store[] = [];
  before(async () => { backend = await startBackend(kind); });
  after(async () => {
    for (const s of opened) await s.close();
    await backend.stop();
  });
  return {
    backend: () => backend,
    async fresh(url?: string) {
      const s = await openStore(url ?? (await backend.freshUrl()));
      opened.push(s);
      return s;
    },
    closeAfter: (...stores: Store[]) => { opened.push(...stores); },
  };
}
