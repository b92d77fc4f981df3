// The key store through its HTTPS API (management with the admin token, release by challenge–response and by token),
// on a SQLite file and on a real PostgreSQL server; the simulated SGX platform plays the enclave.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startService, type Running } from './helpers/harness.js';
import { ADMIN, AUTH, challengeBody, challengeRelease, GOOD, JSON_CT, nonceFor, opened, policyFor, sha } from './helpers/enclave.js';
import { createPlatform } from '../../src/sim/index.js';
import { openStore, SqliteStore, type Store } from '../../src/store/index.js';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../helpers/postgres.js';

const platform = createPlatform({ seed: 'keystore-api' });
const collateral = { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } };
const DAY = 86_400_000;

async function story(svc: Running, clock: { t: number }): Promise<void> {
  const put = (name: string, body: object) => request(svc, 'PUT', `/keys/${name}`, JSON.stringify(body), ADMIN);
  const unauth = await request(svc, 'PUT', '/keys/app', JSON.stringify({ generateBytes: 32, releasePolicy: policyFor(svc.url) }), JSON_CT);
  assert.equal(unauth.status, 401, unauth.text);

  const created = await put('app', { secret: Buffer.from('first secret').toString('base64url'), releasePolicy: policyFor(svc.url), retentionDays: 7 });
  assert.equal(created.status, 201, created.text);
  const v1 = created.json().version as string;
  assert.match(v1, /^[0-9a-f]{32}$/);
  assert.ok(!created.text.includes(Buffer.from('first secret').toString('base64url')), 'no secret in any answer');
  assert.equal((await put('app', { generateBytes: 32, releasePolicy: policyFor(svc.url) })).status, 409);
  assert.equal((await put('bad name!', { generateBytes: 32, releasePolicy: policyFor(svc.url) })).status, 400);
  assert.equal((await put('p', { generateBytes: 32, releasePolicy: { version: '1.0.0' } })).status, 400, 'a bad release policy is refused');
  assert.equal((await put('p', { secret: 'AAAA', generateBytes: 4, releasePolicy: policyFor(svc.url) })).status, 400);

  // Challenge–response: the secret, wrapped to the enclave key, with the key's name, version and nonce in the JWE header.
  const nonce = await nonceFor(svc, 'app');
  const first = await opened(await request(svc, 'POST', '/keys/app/release', challengeBody(platform, nonce), JSON_CT));
  assert.equal(first.secret.toString(), 'first secret');
  assert.deepEqual([first.header['x-confkube-key'], first.header['x-confkube-key-version'], first.header.nonce, first.header.alg, first.header.enc], ['app', v1, nonce, 'RSA-OAEP-256', 'A256GCM']);
  const replay = await request(svc, 'POST', '/keys/app/release', challengeBody(platform, nonce), JSON_CT);
  assert.equal(replay.status, 403, replay.text);
  assert.match(replay.json().error.message, /nonce/);
  const both = await request(svc, 'POST', '/keys/app/release', JSON.stringify({ ...JSON.parse(challengeBody(platform, 'x')), target: 'a.b.c' }), JSON_CT);
  assert.equal(both.status, 400, both.text);
  const unbound = await request(svc, 'POST', '/keys/app/release', challengeBody(platform, await nonceFor(svc, 'app'), {}, sha('something else')), JSON_CT);
  assert.equal(unbound.status, 403, unbound.text);
  assert.match(unbound.json().error.message, /RuntimeData|runtime/i);

  // Rotation: the new version is current; the old one stays releasable by its version while enabled.
  const rotated = await request(svc, 'POST', '/keys/app/rotate', JSON.stringify({ secret: Buffer.from('second secret').toString('base64url') }), ADMIN);
  assert.equal(rotated.status, 200, rotated.text);
  const v2 = rotated.json().version as string;
  assert.equal((await opened(await challengeRelease(svc, platform, 'app'))).secret.toString(), 'second secret');
  assert.equal((await opened(await challengeRelease(svc, platform, 'app', { version: v1 }))).secret.toString(), 'first secret');
  const disabled = await request(svc, 'PATCH', `/keys/app/${v1}`, JSON.stringify({ attributes: { enabled: false } }), ADMIN);
  assert.equal(disabled.status, 200, disabled.text);
  assert.equal(disabled.json().attributes.enabled, false);
  const refused = await challengeRelease(svc, platform, 'app', { version: v1 });
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.json().error.message, /disabled/);
  assert.equal((await challengeRelease(svc, platform, 'app', { version: v2 })).status, 200);
  assert.equal((await challengeRelease(svc, platform, 'app', { version: 'f'.repeat(32) })).status, 404);

  const versions = await request(svc, 'GET', '/keys/app/versions', undefined, AUTH);
  assert.deepEqual(versions.json().value.map((v: { version: string; current: boolean; attributes: { enabled: boolean } }) => [v.version, v.current, v.attributes.enabled]), [[v2, true, true], [v1, false, false]]);
  assert.equal((await request(svc, 'GET', '/keys', undefined, AUTH)).json().value[0].currentVersion, v2);
  assert.equal((await request(svc, 'GET', '/keys', undefined, {})).status, 401);

  // Soft delete: never released, recoverable within the retention period, purged after it.
  const deleted = await request(svc, 'DELETE', '/keys/app', undefined, AUTH);
  assert.equal(deleted.status, 200, deleted.text);
  assert.equal(deleted.json().scheduledPurgeDate, Math.floor((clock.t + 7 * DAY) / 1000));
  assert.equal((await request(svc, 'POST', '/keys/app/nonce', undefined)).status, 404);
  assert.equal((await request(svc, 'POST', '/keys/app/release', challengeBody(platform, nonce), JSON_CT)).status, 404);
  assert.equal((await put('app', { generateBytes: 32, releasePolicy: policyFor(svc.url) })).status, 409, 'a deleted name is not reused during retention');
  assert.equal((await request(svc, 'POST', '/keys/app/recover', undefined, AUTH)).status, 200);
  assert.equal((await opened(await challengeRelease(svc, platform, 'app'))).secret.toString(), 'second secret');
  assert.equal((await request(svc, 'DELETE', '/keys/app', undefined, AUTH)).status, 200);
  clock.t += 7 * DAY;
  assert.equal((await request(svc, 'POST', '/keys/app/recover', undefined, AUTH)).status, 404, 'purged after the retention period');
  assert.equal((await request(svc, 'GET', '/keys/app', undefined, AUTH)).status, 404);
  assert.equal((await put('app', { generateBytes: 16, releasePolicy: policyFor(svc.url) })).status, 201, 'the name is free again');

  // Every management action and every release decision is in the audit log, with actor and version.
  const audit = (await svc.store.queryAudit({})).reverse();
  const mgmt = audit.filter((r) => r.attestationType === 'keymgmt/app');
  assert.deepEqual(mgmt.map((r) => [r.decision, r.reason?.split(':')[0]]), [
    ['deny', 'create'], ['permit', 'create'], ['error', 'create'], ['permit', 'rotate'], ['permit', 'disable'],
    ['permit', 'delete'], ['error', 'create'], ['permit', 'recover'], ['permit', 'delete'], ['error', 'recover'], ['permit', 'create'],
  ]);
  assert.equal(mgmt[1]!.actor?.startsWith('admin:'), true);
  assert.equal(mgmt[1]!.keyVersion, v1);
  const rel = audit.filter((r) => r.attestationType === 'keyrelease/app');
  assert.deepEqual(rel.map((r) => r.decision), ['permit', 'deny', 'deny', 'permit', 'permit', 'deny', 'permit', 'permit']);
  assert.equal(rel[0]!.keyVersion, v1);
  assert.equal(rel[0]!.mrEnclave, Buffer.from(GOOD.mrEnclave).toString('hex'));
}

test('key store on SQLite over HTTPS: create, challenge–response release, rotate, disable, delete, recover, purge; all audited', async () => {
  const clock = { t: Date.now() };
  const svc = await startService({ collateral, now: () => clock.t, keyStore: true });
  try {
    await story(svc, clock);
  } finally {
    await svc.stop();
  }
});

test('key store on PostgreSQL: the same story; --release-key imports are idempotent across restarts', async () => {
  const pg = await startPostgres();
  let store: Store | null = null;
  const clock = { t: Date.now() };
  try {
    store = await openStore(pg.url);
    const keys = (url: string) => [{ name: 'boot', secret: Buffer.from('from a file'), policy: policyFor(url) }];
    const svc = await startService({ collateral, now: () => clock.t, store, releasableKeys: keys });
    try {
      await story(svc, clock);
      assert.equal((await opened(await challengeRelease(svc, platform, 'boot'))).secret.toString(), 'from a file');
    } finally {
      await svc.stop();
    }
    const before = await store.listReleaseKeyVersions('boot');
    const again = await startService({ collateral, now: () => clock.t, store, releasableKeys: (url) => keys(url.replace(/:\d+$/, ':1')) });
    await again.stop();
    const after = await store.listReleaseKeyVersions('boot');
    assert.equal(after.length, before.length + 1, 'a changed policy file is a new version');
    const third = await startService({ collateral, now: () => clock.t, store, releasableKeys: (url) => keys(url.replace(/:\d+$/, ':1')) });
    await third.stop();
    assert.equal((await store.listReleaseKeyVersions('boot')).length, after.length, 'an unchanged file writes nothing');
  } finally {
    await store?.close();
    await pg.stop();
  }
});

test('malformed management and release requests are 4xx with the service error body, never 500', async () => {
  const svc = await startService({ collateral, now: Date.now, keyStore: true });
  try {
    const policy = JSON.stringify(policyFor(svc.url));
    const cases: [string, string, string | undefined, Record<string, string>, number][] = [
      ['PUT', '/keys/a', undefined, AUTH, 400],
      ['PUT', '/keys/a', '[]', ADMIN, 400],
      ['PUT', '/keys/a', `{"secret":"!!!","releasePolicy":${policy}}`, ADMIN, 400],
      ['PUT', '/keys/a', `{"generateBytes":1e9,"releasePolicy":${policy}}`, ADMIN, 400],
      ['PUT', '/keys/a', `{"generateBytes":4,"retentionDays":3,"releasePolicy":${policy}}`, ADMIN, 400],
      ['PUT', '/keys/a', `{"generateBytes":4,"releasePolicy":${policy},"extra":1}`, ADMIN, 400],
      ['POST', '/keys/a/rotate', undefined, AUTH, 400],
      ['POST', '/keys/a/rotate', '{"generateBytes":4}', ADMIN, 404],
      ['PATCH', `/keys/a/${'a'.repeat(32)}`, '{"attributes":{}}', ADMIN, 400],
      ['PATCH', '/keys/a/zz', '{"enabled":true}', ADMIN, 404],
      ['DELETE', '/keys/nope', undefined, AUTH, 404],
      ['POST', '/keys/nope/recover', undefined, AUTH, 404],
      ['POST', '/keys/a/release', undefined, {}, 400],
      ['POST', '/keys/a/release', '{}', JSON_CT, 400],
      ['POST', '/keys/a/release', '{"quote":"AAAA"}', JSON_CT, 400],
      ['POST', '/keys/a/release', '{"quote":"AAAA","runtimeData":{"data":"e30","dataType":"JSON"}}', JSON_CT, 400],
      ['POST', '/keys/a/release', '{"quote":"AAAA","runtimeData":{"data":"bm90IGpzb24","dataType":"JSON"}}', JSON_CT, 400],
      ['POST', '/keys/a/release', '{"quote":"AAAA","runtimeData":{"data":"e30","dataType":"Binary"}}', JSON_CT, 400],
    ];
    for (const [method, path, body, headers, status] of cases) {
      const r = await request(svc, method, path, body, headers);
      assert.equal(r.status, status, `${method} ${path} ${body ?? ''}: ${r.text}`);
      assert.equal(typeof r.json().error.code, 'string');
    }
    // With a key in place, a quote that is not a quote is a 400 naming it, and is audited as an error.
    assert.equal((await request(svc, 'PUT', '/keys/a', `{"generateBytes":8,"releasePolicy":${policy}}`, ADMIN)).status, 201);
    const r = await request(svc, 'POST', '/keys/a/release', challengeBody(platform, await nonceFor(svc, 'a')).replace(/"quote":"[^"]{40}/, '"quote":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), JSON_CT);
    assert.equal(r.status, 400, r.text);
    assert.equal((await svc.store.queryAudit({ limit: 1 }))[0]!.decision, 'error');
  } finally {
    await svc.stop();
  }
});

test('a stored secret that does not open under the KEK (a row altered in the database) is a 500 that says so, recorded in the audit log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-keystore-'));
  const store = SqliteStore.open(join(dir, 'store.db'));
  const svc = await startService({ collateral, now: Date.now, store, closeStore: true });
  try {
    const created = await request(svc, 'PUT', '/keys/app', JSON.stringify({ generateBytes: 32, releasePolicy: policyFor(svc.url) }), ADMIN);
    assert.equal(created.status, 201, created.text);
    const version = created.json().version as string;
    assert.equal((await challengeRelease(svc, platform, 'app')).status, 200);
    // Another key's sealed secret in this row: sealed under the same KEK, but bound to another name and version.
    const other = await request(svc, 'PUT', '/keys/other', JSON.stringify({ generateBytes: 32, releasePolicy: policyFor(svc.url) }), ADMIN);
    assert.equal(other.status, 201, other.text);
    const db = new Database(join(dir, 'store.db'));
    db.prepare("UPDATE release_key_versions SET sealed_secret = (SELECT sealed_secret FROM release_key_versions WHERE name = 'other') WHERE name = 'app'").run();
    db.close();
    const refused = await challengeRelease(svc, platform, 'app');
    assert.equal(refused.status, 500, refused.text);
    assert.equal(refused.json().error.code, 'KeyUnavailable');
    assert.match(refused.json().error.message, /app: the stored secret cannot be opened/);
    const last = (await svc.store.queryAudit({ limit: 1 }))[0]!;
    assert.deepEqual([last.attestationType, last.decision], ['keyrelease/app', 'error']);
    assert.match(String(last.reason), /cannot be opened/);
    const byVersion = await challengeRelease(svc, platform, 'app', { version });
    assert.match(byVersion.json().error.message, new RegExp(`app: the stored secret of version ${version} cannot be opened`));
  } finally {
    await svc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
