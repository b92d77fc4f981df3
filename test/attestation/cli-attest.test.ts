// The service under test runs in-process over HTTPS on 127.0.0.1; `confkube attest` runs as a child process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCliAsync } from '../helpers/cli.js';
import { REAL_CASE, startService, type Running } from './helpers/harness.js';

const cli = (args: string[]) => runCliAsync(args);

let svc: Running;
before(async () => {
  svc = await startService();
});
after(async () => {
  await svc.stop();
});

test('confkube attest QUOTE --url --ca --json prints the token and claims', async () => {
  const r = await cli(['attest', REAL_CASE.quote, '--url', svc.url, '--ca', svc.caFile, '--json', '--nonce', 'abc']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.ok, true);
  assert.equal(out.claims['x-ms-sgx-tcb-status'], 'SWHardeningNeeded');
  assert.equal(out.claims.nonce, 'abc');
  assert.equal(out.header.alg, 'RS256');
});

test('confkube attest: a refused quote exits 1 with the service error; without --ca TLS is not trusted', async () => {
  const bad = await cli(['attest', REAL_CASE.quote, '--url', svc.url, '--ca', svc.caFile, '--runtime-data', '00ff']);
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /RuntimeDataMismatch/);
  const untrusted = await cli(['attest', REAL_CASE.quote, '--url', svc.url]);
  assert.equal(untrusted.status, 2);
  assert.match(untrusted.stderr, /certificate/i);
  const usage = await cli(['attest', REAL_CASE.quote]);
  assert.equal(usage.status, 2);
});

test('confkube serve: usage errors exit 2 with a message; --help documents the production flags', async () => {
  const noSource = await cli(['serve', '--listen', '127.0.0.1:1', '--store', 'sqlite::memory:']);
  assert.equal(noSource.status, 2, noSource.stderr);
  assert.match(noSource.stderr, /no collateral source/);
  const badListen = await cli(['serve', '--listen', 'nowhere', '--collateral', '.']);
  assert.equal(badListen.status, 2);
  assert.match(badListen.stderr, /--listen/);
  const help = await cli(['serve', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--store', '--kek-file', '--base-url', '--tls-key', '--tls-cert', '--collateral', '--pccs-url', '--admin-token', '--policy-signer', '--simulation']) assert.ok(help.stdout.includes(flag), flag);
});
