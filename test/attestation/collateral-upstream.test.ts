// The collateral cache against a hostile or broken upstream: unknown FMSPCs from anonymous callers never reach
// upstream, concurrent requests share one exchange, failures are remembered, and a hanging upstream times out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { REAL_CASE, request, startService } from './helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';

/** A counting upstream on 127.0.0.1: `answer` decides each request (`null` leaves it hanging). */
async function upstream(answer: (path: string) => Promise<{ status: number; headers: Record<string, string>; body: Buffer } | null>): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    void answer(req.url ?? '').then((a) => {
      if (!a) return;
      res.writeHead(a.status, a.headers).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, paths,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const attestBody = (): string => JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') });
const attest = (b: Awaited<ReturnType<typeof startService>>) => request(b, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', attestBody(), { 'content-type': 'application/json' });
const randomFmspc = (): string => randomBytes(6).toString('hex');

test('300 anonymous tcb?fmspc=<random> requests make no upstream call and add nothing to the in-memory cache', async () => {
  const up = await upstream(async () => ({ status: 404, headers: {}, body: Buffer.alloc(0) }));
  const b = await startService({ store: new MemoryStore(), collateral: { upstream: up.url } });
  const dir = await startService({ plain: true });
  try {
    for (let i = 0; i < 300; i++) assert.equal((await fetch(`${dir.url}/sgx/certification/v4/tcb?fmspc=${randomFmspc()}`)).status, 404);
    for (let i = 0; i < 300; i++) assert.equal((await request(b, 'GET', `/sgx/certification/v4/tcb?fmspc=${randomFmspc()}`)).status, 404);
    assert.deepEqual(up.paths, []);
    assert.equal(b.svc.ctx.collateral.size, 0);
    assert.equal(dir.svc.ctx.collateral.size, 0);
  } finally {
    await dir.stop();
    await b.stop();
    await up.close();
  }
});

test('concurrent attestations of one platform share one upstream exchange', async () => {
  const a = await startService({ plain: true });
  const up = await upstream(async (path) => {
    const res = await fetch(`${a.url}${path}`);
    return { status: res.status, headers: Object.fromEntries([...res.headers].filter(([k]) => k.includes('issuer-chain') || k === 'content-type')), body: Buffer.from(await res.arrayBuffer()) };
  });
  const b = await startService({ store: new MemoryStore(), collateral: { upstream: up.url } });
  try {
    const answers = await Promise.all(Array.from({ length: 20 }, () => attest(b)));
    for (const r of answers) assert.equal(r.status, 200, r.text);
    assert.equal(up.paths.filter((p) => p.startsWith('/sgx/certification/v4/tcb?')).length, 1);
    assert.equal(b.svc.ctx.collateral.upstreamFetches, 1);
  } finally {
    await b.stop();
    await up.close();
    await a.stop();
  }
});

test('a hanging upstream times out with a 400 CollateralUnavailable answer, and the failure is remembered', async () => {
  const up = await upstream(async () => null);
  const b = await startService({ store: new MemoryStore(), collateral: { upstream: up.url, upstreamTimeoutMs: 200 } });
  try {
    const answers = await Promise.all(Array.from({ length: 5 }, () => attest(b)));
    for (const r of answers) {
      assert.equal(r.status, 400, r.text);
      assert.match(r.json().error.message, /ERR_UPSTREAM_TIMEOUT: upstream .* no answer within 200 ms/);
    }
    assert.equal(up.paths.length, 1);
    const again = await attest(b);
    assert.equal(again.status, 400);
    assert.equal(up.paths.length, 1, 'a failed FMSPC is not asked for again within the negative-cache time');
  } finally {
    await b.stop();
    await up.close();
  }
});
