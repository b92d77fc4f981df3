// The database goes away under load: the test PostgreSQL (test/helpers/postgres.ts) is stopped the way a crash
// stops it while clients attest, then started again. The service under test runs in-process over HTTPS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REAL_CASE, request, startService, type Running } from './helpers/harness.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { startPostgres } from '../helpers/postgres.js';

const body = JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') });
const attest = (r: Running) => request(r, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', body, { 'content-type': 'application/json' });
const until = async (cond: () => Promise<boolean> | boolean, what: string): Promise<void> => {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
};

test('PostgreSQL stopped under load: 503 + Retry-After + service error body, one log line per outage and its end, /metrics and /readyz follow, /livez stays green', async () => {
  const pg = await startPostgres();
  const lines: string[] = [];
  const store = await openServiceStore(pg.url);
  const svc = await startService({ store, closeStore: true, policyPollMs: 250, warn: (m) => lines.push(m) });
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  let stop = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const r = await attest(svc);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) continue;
      const err = r.json().error;
      if (r.status !== 503 || r.headers['retry-after'] !== '2' || err?.code !== 'ServiceUnavailable' || /\n\s+at /.test(r.text)) bad.push(`${r.status} ${JSON.stringify(r.headers['retry-after'])} ${r.text}`);
    }
  };
  try {
    const workers = Array.from({ length: 4 }, worker);
    await until(() => (statuses.get(200) ?? 0) >= 20, '20 attestations answered before the outage');
    assert.equal((await request(svc, 'GET', '/readyz')).status, 200);

    await pg.crash();
    await until(() => (statuses.get(503) ?? 0) >= 100, '100 requests answered 503 during the outage');
    const ready = await request(svc, 'GET', '/readyz');
    assert.equal(ready.status, 503, ready.text);
    assert.equal(ready.json().store, 'unavailable');
    assert.equal((await request(svc, 'GET', '/livez')).status, 200, 'liveness stays green: a restart would not bring the database back');
    const down = (await request(svc, 'GET', '/metrics')).text;
    assert.match(down, /^confkube_store_up 0$/m);
    assert.match(down, /^confkube_store_outages_total 1$/m);
    assert.equal((await request(svc, 'GET', '/certs')).status, 200, 'published keys are served from memory');

    await pg.restart();
    await until(async () => (await request(svc, 'GET', '/readyz')).status === 200, 'ready again once the database is back');
    const answeredBefore = statuses.get(200)!;
    await until(() => statuses.get(200)! >= answeredBefore + 20, '20 attestations answered after the outage');
    stop = true;
    await Promise.all(workers);

    assert.deepEqual(bad, [], `every refusal is a clean 503 (${bad.length} were not)`);
    assert.equal(statuses.get(500), undefined, 'no 500');
    const starts = lines.filter((l) => /store unavailable/.test(l));
    const ends = lines.filter((l) => /store available again/.test(l));
    assert.equal(starts.length, 1, lines.join('\n'));
    assert.equal(ends.length, 1, lines.join('\n'));
    assert.ok(lines.every((l) => !/\n\s+at /.test(l)), 'no stack trace in the log');
    const up = (await request(svc, 'GET', '/metrics')).text;
    assert.match(up, /^confkube_store_up 1$/m);
    assert.match(up, /^confkube_store_outages_total 1$/m);
    const refused = Number(/^confkube_store_unavailable_responses_total (\d+)$/m.exec(up)![1]);
    assert.equal(refused, statuses.get(503));
  } finally {
    stop = true;
    await svc.stop();
    await pg.stop();
  }
});
