// Attacks on the admin credential: guessing it online, short tokens, tokens in the process list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { request, startService } from '../attestation/helpers/harness.js';
import { AdminAuth, MIN_ADMIN_TOKEN_LENGTH } from '../../src/attestation/admin-auth.js';
import { AttestationError } from '../../src/attestation/errors.js';
import { adminTokensFrom } from '../../src/cli/commands/service.js';
import { UsageError } from '../../src/cli/util.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const req = (ip: string, token?: string) => ({ ip, headers: token ? { authorization: `Bearer ${token}` } : {} }) as unknown as FastifyRequest;
const status = (f: () => unknown): number => {
  try {
    f();
    return 200;
  } catch (e) {
    assert.ok(e instanceof AttestationError, String(e));
    return e.status;
  }
};

test('repeated 401s from one address are throttled with 429 (Retry-After), even for the right token; other addresses are not; the window passes', async () => {
  let clock = Date.now();
  const svc = await startService({ now: () => clock });
  try {
    const get = (token: string) => request(svc, 'GET', '/policies/SgxEnclave?api-version=2020-10-01', undefined, { authorization: `Bearer ${token}` });
    for (let i = 0; i < 10; i++) assert.equal((await get(`guess-${i}-of-the-admin-token-xxxxxxxx`)).status, 401);
    const blocked = await get(TOKEN);
    assert.equal(blocked.status, 429, blocked.text);
    assert.equal(blocked.json().error.code, 'TooManyRequests');
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    clock += 61_000;
    assert.equal((await get(TOKEN)).status, 200, 'after the window the admin gets in');
  } finally {
    await svc.stop();
  }
});

test('the failure table is per address and bounded', () => {
  let clock = 0;
  const auth = new AdminAuth([TOKEN], () => clock, { maxFailures: 3, windowMs: 1000, maxClients: 100 });
  for (let i = 0; i < 3; i++) assert.equal(status(() => auth.check(req('10.0.0.1', 'wrong'))), 401);
  assert.equal(status(() => auth.check(req('10.0.0.1', TOKEN))), 429);
  assert.equal(status(() => auth.check(req('10.0.0.2', TOKEN))), 200, 'another address is not blocked');
  // A flood of addresses cannot grow the table beyond its bound.
  for (let i = 0; i < 10_000; i++) status(() => auth.check(req(`10.1.${i >> 8}.${i & 255}`)));
  assert.equal(auth.trackedClients, 100);
  clock += 1000;
  assert.equal(status(() => auth.check(req('10.1.39.15', TOKEN))), 200);
});

test(`admin tokens shorter than ${MIN_ADMIN_TOKEN_LENGTH} characters are refused at start`, async () => {
  assert.throws(() => new AdminAuth(['short-token'], Date.now), (e: unknown) => e instanceof AttestationError && e.code === 'ERR_ADMIN_TOKEN_TOO_SHORT');
  await assert.rejects(startService({ adminTokens: ['x'.repeat(MIN_ADMIN_TOKEN_LENGTH - 1)] }), /at least 32 required/);
});

test('serve: admin tokens from a file and the environment; argv still works but warns; short tokens refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-admin-'));
  try {
    const file = join(dir, 'tokens');
    writeFileSync(file, `${'a'.repeat(40)}\n\n  ${'b'.repeat(32)}  \n`, { mode: 0o600 });
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    assert.deepEqual(adminTokensFrom({ adminToken: [], adminTokenFile: [file] }, { CONFKUBE_ADMIN_TOKENS: `${'c'.repeat(33)},` }, warn), ['a'.repeat(40), 'b'.repeat(32), 'c'.repeat(33)]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(adminTokensFrom({ adminToken: [TOKEN], adminTokenFile: [] }, {}, warn), [TOKEN]);
    assert.match(warnings.join('\n'), /process list/);
    assert.throws(() => adminTokensFrom({ adminToken: [], adminTokenFile: [] }, { CONFKUBE_ADMIN_TOKENS: 'hunter2' }, warn), (e: unknown) => e instanceof UsageError && /7 characters/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
