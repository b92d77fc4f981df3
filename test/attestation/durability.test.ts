// `confkube serve` runs as a child process on 127.0.0.1 over HTTPS (the system under test); this test is its
// client. SQLite and PostgreSQL (a throwaway server from the Debian binaries, test/helpers/postgres.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REAL_CASE, TEST_KEK_HEX } from './helpers/harness.js';
import { startServeProcess } from './helpers/serve-process.js';
import { createTlsCertificate, policyHash } from '../../src/attestation/index.js';
import { openServiceStore } from '../../src/cli/service-runtime.js';
import { startPostgres } from '../helpers/postgres.js';
import { CLI } from '../helpers/cli.js';

const quoteBody = JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') });

function post(url: string, path: string, body: string, ca: string, agent: Agent, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, url), { method: path.startsWith('/policies') && !path.includes(':') ? 'PUT' : 'POST', ca, agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function tlsFiles(dir: string): Promise<{ key: string; cert: string; ca: string }> {
  const t = await createTlsCertificate(['127.0.0.1']);
  writeFileSync(join(dir, 'tls.key'), t.key);
  writeFileSync(join(dir, 'tls.crt'), t.cert);
  return { key: join(dir, 'tls.key'), cert: join(dir, 'tls.crt'), ca: t.cert };
}

/** Load with 8 concurrent clients, kill -9 the service while requests are in flight; every answered token has its audit record. */
async function killDuringLoad(storeUrl: string, dir: string): Promise<void> {
  const tls = await tlsFiles(dir);
  const svc = await startServeProcess({ store: storeUrl, tlsKey: tls.key, tlsCert: tls.cert });
  const answered: string[] = [];
  let stop = false;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const worker = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = await post(svc.url, '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, tls.ca, agent);
        if (r.status === 200) answered.push(JSON.parse(Buffer.from(JSON.parse(r.text).token.split('.')[1], 'base64url').toString()).jti);
      } catch {
        return; // connection reset by the kill
      }
    }
  };
  const workers = Array.from({ length: 8 }, worker);
  // Kill once a good number of attestations were answered (counted, not timed).
  while (answered.length < 150) await new Promise((r) => setTimeout(r, 5));
  await svc.kill9();
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  const store = await openServiceStore(storeUrl);
  try {
    const q = store as unknown as { queryAudit(q: { limit?: number; tokenId?: string }): Promise<{ tokenId: string | null; decision: string }[]> };
    const recorded = new Set((await q.queryAudit({ limit: 1_000_000 })).map((r) => r.tokenId));
    const missing = answered.filter((j) => !recorded.has(j));
    assert.ok(answered.length >= 150);
    assert.deepEqual(missing, [], `${missing.length} of ${answered.length} answered attestations have no audit record`);
  } finally {
    await store.close();
  }
}

test('kill -9 during a load run loses no audit record of an answered attestation (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-kill-'));
  try {
    await killDuringLoad(`sqlite:${join(dir, 'audit.db')}`, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL: kill -9 loses no audit record; two service processes share keys and policies', async () => {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'confkube-pg-'));
  try {
    await killDuringLoad(pg.url, dir);
    const tls = await tlsFiles(dir);
    const a = await startServeProcess({ store: pg.url, tlsKey: tls.key, tlsCert: tls.cert, baseUrl: 'https://attest.confkube.test' });
    const b = await startServeProcess({ store: pg.url, tlsKey: tls.key, tlsCert: tls.cert, baseUrl: 'https://attest.confkube.test' });
    const agent = new Agent({ keepAlive: false });
    try {
      const ta = JSON.parse((await post(a.url, '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, tls.ca, agent)).text).token;
      const tb = JSON.parse((await post(b.url, '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, tls.ca, agent)).text).token;
      assert.equal(JSON.parse(Buffer.from(ta.split('.')[0], 'base64url').toString()).kid, JSON.parse(Buffer.from(tb.split('.')[0], 'base64url').toString()).kid, 'one signing key');
      const text = 'version=1.0; authorizationrules{=> permit();}; issuancerules{c:[type=="x-ms-sgx-svn"] => issue(type="from-replica-a", value=c.value);};';
      const jws = 'eyJhbGciOiJub25lIn0.' + Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })).toString('base64url') + '.';
      const put = await post(a.url, '/policies/SgxEnclave?api-version=2020-10-01', jws, tls.ca, agent, { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
      assert.equal(put.status, 200, put.text);
      let seen = '';
      for (let i = 0; i < 400 && seen !== policyHash(text); i++) {
        await new Promise((r) => setTimeout(r, 25));
        const t = JSON.parse((await post(b.url, '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, tls.ca, agent)).text).token;
        seen = JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString())['x-ms-policy-hash'];
      }
      assert.equal(seen, policyHash(text), 'the policy set on A applies on B');
    } finally {
      await a.stop();
      await b.stop();
    }
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confkube rotate-signing-key: a running service signs with the new key after its reload; both keys stay published', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-rot-'));
  const storeUrl = `sqlite:${join(dir, 'keys.db')}`;
  const tls = await tlsFiles(dir);
  const svc = await startServeProcess({ store: storeUrl, tlsKey: tls.key, tlsCert: tls.cert, baseUrl: 'https://attest.confkube.test' });
  const agent = new Agent({ keepAlive: false });
  try {
    const kidOf = async (): Promise<string> => JSON.parse(Buffer.from(JSON.parse((await post(svc.url, '/attest/SgxEnclave?api-version=2020-10-01', quoteBody, tls.ca, agent)).text).token.split('.')[0], 'base64url').toString()).kid;
    const before = await kidOf();
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, [...CLI, 'rotate-signing-key', '--base-url', 'https://attest.confkube.test', '--store', storeUrl, '--activate-after', '10', '--json'], { cwd: new URL('../../', import.meta.url), encoding: 'utf8', env: { ...process.env, CONFKUBE_KEK: TEST_KEK_HEX } });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.notEqual(out.kid, before);
    assert.deepEqual(new Set(out.published), new Set([before, out.kid]));
    // The schedule operators see: the old key signs until the new one activates, then leaves /certs 8 h 5 min later.
    const old = out.schedule.find((k: { kid: string }) => k.kid === before);
    const fresh = out.schedule.find((k: { kid: string }) => k.kid === out.kid);
    assert.equal(fresh.state, 'pending');
    assert.equal(old.state, 'signing');
    assert.equal(old.retiredAt, fresh.activeFrom);
    assert.equal(Date.parse(old.unpublishAt) - Date.parse(old.retiredAt), 8 * 3600_000 + 5 * 60_000);
    // The service reloads keys every 10 s: poll (bounded by count) until it signs with the new key. Its /certs
    // must list the new key no later than the first token signed with it (published before use).
    const certsKids = (): Promise<string[]> => new Promise((resolve, reject) => {
      httpsRequest(new URL('/certs', svc.url), { ca: tls.ca, agent }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(JSON.parse(text).keys.map((k: { kid: string }) => k.kid)));
      }).on('error', reject).end();
    });
    let kid = before;
    let publishedAt = -1;
    let i = 0;
    for (; i < 160 && kid !== out.kid; i++) {
      await new Promise((res) => setTimeout(res, 250));
      if (publishedAt < 0 && (await certsKids()).includes(out.kid)) publishedAt = i;
      kid = await kidOf();
    }
    assert.equal(kid, out.kid);
    assert.ok(publishedAt >= 0 && publishedAt <= i - 1, `new key published at poll ${publishedAt}, first signed at poll ${i - 1}`);
  } finally {
    await svc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
