// The two backends the store suite runs against: a SQLite file in a temporary folder, and a throwaway PostgreSQL
// server (test/helpers/postgres.ts) with a fresh database per test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
