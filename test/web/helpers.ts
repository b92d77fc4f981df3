// The attestation service with its dashboard over HTTPS on 127.0.0.1, on a real store (a SQLite file or a
// database of the throwaway PostgreSQL server), with one admin and one viewer token.
import { readFileSync } from 'node:fs';
import { openStore, type Store } from '../../src/store/index.js';
import { REAL_CASE, request, startService, type Running } from '../attestation/helpers/harness.js';
import type { ClusterSource } from '../../src/web/index.js';

export const ADMIN = 'dashboard-admin-token-0123456789abcdef';
export const VIEWER = 'dashboard-viewer-token-0123456789abcdef';

export interface Dashboard extends Running {
  store: Store;
  /** One real quote attested (verified at its collateral's time): one more audit record. */
  attest(): Promise<number>;
  call(method: string, path: string, o?: { body?: unknown; token?: string; cookie?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: () => any; text: string }>;
}

export async function startDashboard(storeUrl: string, o: { now?: () => number; cluster?: ClusterSource } = {}): Promise<Dashboard> {
  const store = await openStore(storeUrl);
  const r = await startService({
    store, adminTokens: [ADMIN], viewerTokens: [VIEWER], closeStore: true, ...(o.now ? { now: o.now } : {}),
    ...(o.cluster ? { dashboard: { cluster: o.cluster } } : {}),
  });
  const quote = readFileSync(REAL_CASE.quote).toString('base64url');
  return {
    ...r, store,
    async attest() {
      const res = await request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote }), { 'content-type': 'application/json' });
      return res.status;
    },
    async call(method, path, c = {}) {
      const headers: Record<string, string> = { ...c.headers };
      if (c.token) headers.authorization = `Bearer ${c.token}`;
      if (c.cookie) headers.cookie = c.cookie;
      if (c.body !== undefined) headers['content-type'] = 'application/json';
      return request(r, method, path, c.body === undefined ? undefined : JSON.stringify(c.body), headers);
    },
  };
}
