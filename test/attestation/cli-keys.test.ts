// `confkube keys …` as a child process against the service running in-process over HTTPS: the management story
// end to end, and a released secret that matches the file it was created from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { startService, type Running } from './helpers/harness.js';
import { challengeRelease, opened, policyFor } from './helpers/enclave.js';
import { createPlatform } from '../../src/sim/index.js';

const platform = createPlatform({ seed: 'cli-keys' });
const cli = runCliAsync;

let svc: Running;
let dir: string;
before(async () => {
  svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now, keyStore: true });
  dir = mkdtempSync(join(tmpdir(), 'confkube-cli-keys-'));
  writeFileSync(join(dir, 'token'), 'test-admin-token-0123456789abcdef\n');
  writeFileSync(join(dir, 'secret'), 'secret from a file');
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyFor(svc.url)));
});
after(async () => {
  await svc.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('confkube keys create / rotate / versions / disable / delete / recover / list', async () => {
  const conn = ['--url', svc.url, '--ca', svc.caFile, '--admin-token-file', join(dir, 'token')];
  const created = await cli(['keys', 'create', 'db', '--policy', join(dir, 'policy.json'), '--secret-file', join(dir, 'secret'), ...conn]);
  assert.equal(created.status, 0, created.stderr);
  const v1 = JSON.parse(created.stdout).version as string;
  assert.equal((await opened(await challengeRelease(svc, platform, 'db'))).secret.toString(), 'secret from a file');

  const rotated = await cli(['keys', 'rotate', 'db', '--generate', '32', ...conn]);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.equal((await opened(await challengeRelease(svc, platform, 'db'))).secret.length, 32);
  assert.equal((await cli(['keys', 'disable', 'db', v1, ...conn])).status, 0);
  const versions = JSON.parse((await cli(['keys', 'versions', 'db', ...conn])).stdout).value as { version: string; attributes: { enabled: boolean } }[];
  assert.deepEqual(versions.map((v) => v.attributes.enabled), [true, false]);
  assert.equal(versions[1]!.version, v1);
  assert.equal((await cli(['keys', 'delete', 'db', ...conn])).status, 0);
  assert.ok(JSON.parse((await cli(['keys', 'list', ...conn])).stdout).value[0].scheduledPurgeDate > 0);
  assert.equal((await cli(['keys', 'recover', 'db', ...conn])).status, 0);
  assert.equal((await cli(['keys', 'show', 'db', ...conn])).status, 0);

  const again = await cli(['keys', 'create', 'db', '--policy', join(dir, 'policy.json'), '--generate', '16', ...conn]);
  assert.equal(again.status, 1, 'an existing name is refused');
  assert.match(again.stderr, /HTTP 409/);
  const noToken = await cli(['keys', 'list', '--url', svc.url, '--ca', svc.caFile], { CONFKUBE_ADMIN_TOKEN: '' });
  assert.equal(noToken.status, 2, noToken.stderr);
  assert.match(noToken.stderr, /admin token/);
  const wrong = await cli(['keys', 'list', '--url', svc.url, '--ca', svc.caFile], { CONFKUBE_ADMIN_TOKEN: 'x'.repeat(40) });
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /HTTP 401/);
  const both = await cli(['keys', 'rotate', 'db', '--generate', '16', '--secret-file', join(dir, 'secret'), ...conn]);
  assert.equal(both.status, 2);
});
