// examples/enclave-app runs unchanged on the simulated platform: `confkube sim attestation-dir` (a child process,
// the system under test with the app) plays /dev/attestation, the attestation service runs in-process in
// simulation mode, and the app is started as a user would start it. Its Deployment is admitted by the webhook's
// --review, and its Gramine manifest carries the entries named in docs/enclave-apps.md §Gramine manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReleasePolicy } from '../../src/keyrelease/index.js';
import { createPlatform, writePlatform } from '../../src/sim/index.js';
import { DEMO_ENCLAVE } from '../../src/cli/demo-enclave.js';
import { toHex } from '../../src/lib/bytes.js';
import { startService } from '../attestation/helpers/harness.js';
import { repoRoot, runCli } from '../helpers/cli.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the example app attests and receives its key through the directory `confkube sim attestation-dir` serves', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ck-example-'));
  const platform = createPlatform({ seed: 'example-app' });
  writePlatform(platform, join(tmp, 'platform'));
  const secret = Buffer.from('example app secret');
  const policy = (url: string) => parseReleasePolicy({ version: '1.0.0', anyOf: [{ authority: url, allOf: [{ claim: 'x-ms-sgx-mrsigner', equals: toHex(DEMO_ENCLAVE.mrSigner) }, { claim: 'x-ms-sgx-is-debuggable', equals: false }] }], confkube: { allowSimulated: true } });
  const svc = await startService({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, now: Date.now, releasableKeys: (url) => [{ name: 'app-key', secret, policy: policy(url) }] });
  const dir = join(tmp, 'attestation');
  const sim = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sim', 'attestation-dir', dir, '--platform', join(tmp, 'platform')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let banner = '';
    await new Promise<void>((resolve, reject) => {
      sim.stdout.on('data', (d) => {
        banner += d;
        if (banner.includes('Stop with Ctrl-C')) resolve();
      });
      sim.on('exit', (code) => reject(new Error(`sim attestation-dir exited ${code}`)));
    });
    assert.match(banner, new RegExp(`MRENCLAVE ${toHex(DEMO_ENCLAVE.mrEnclave)} MRSIGNER ${toHex(DEMO_ENCLAVE.mrSigner)} ISVPRODID 1 ISVSVN 1\\n`));
    assert.match(banner, /NOT Intel/);
    const env = { CONFKUBE_ATTESTATION_URL: svc.url, CONFKUBE_ATTESTATION_CA: svc.caFile, CONFKUBE_ATTESTATION_DIR: dir, KEY_NAME: 'app-key' };
    const app = await run(['--import', 'tsx', '--conditions=confkube-source', 'examples/enclave-app/app.mjs', '--once'], env);
    assert.equal(app.code, 0, app.stderr);
    assert.match(app.stdout, new RegExp(`MRENCLAVE ${toHex(DEMO_ENCLAVE.mrEnclave)}, TCB UpToDate, SIMULATED platform`));
    assert.match(app.stdout, /received app-key \(challenge form\): 18 bytes/);
    assert.doesNotMatch(app.stdout + app.stderr, /example app secret/, 'the secret is never printed');
    // A key the enclave may not have: the app says why, with the service's reason, and exits 1.
    const denied = await run(['--import', 'tsx', '--conditions=confkube-source', 'examples/enclave-app/app.mjs', '--once'], { ...env, KEY_NAME: 'other-key' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /enclave-app: ERR_CLIENT_KEY_NOT_FOUND: .*answered 404: KeyNotFound/);
  } finally {
    sim.kill('SIGTERM');
    await new Promise((r) => (sim.exitCode === null ? sim.once('exit', r) : r(null)));
    await svc.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(sim.exitCode, 0, 'stops cleanly on SIGTERM');
});

test('sim attestation-dir: bad usage exits 2 with a reason', () => {
  const cases: [string[], RegExp][] = [
    [['sim', 'attestation-dir', '/tmp/x', '--platform', '/nonexistent'], /cannot read \/nonexistent\/platform\.json: ENOENT/],
    [['sim', 'attestation-dir', '/tmp/x', '--mrenclave', 'abcd'], /--mrenclave: expected 32 bytes/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
  }
});

test('the example Deployment is admitted with its EPC and enclave requests; the manifest template has the entries enclave apps need', () => {
  const r = runCli(['webhook', '--review', 'examples/enclave-app/deployment.yaml', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const review = JSON.parse(r.stdout);
  assert.equal(review.allowed, true);
  const limits = review.object.spec.template.spec.containers[0].resources.limits;
  assert.equal(limits['sgx.intel.com/epc'], '512Mi');
  assert.equal(limits['sgx.intel.com/enclave'], '1');
  const manifest = readFileSync(join(repoRoot, 'examples/enclave-app/enclave-app.manifest.template'), 'utf8');
  for (const line of ['sgx.remote_attestation = "dcap"', 'sgx.debug = false', 'loader.env.CONFKUBE_ATTESTATION_URL = { passthrough = true }', 'loader.env.CONFKUBE_ATTESTATION_CA = "/app/attestation-ca.crt"', '"file:/app/",']) {
    assert.ok(manifest.split('\n').some((l) => l.trim() === line), line);
  }
  assert.doesNotMatch(manifest, /^loader\.env\.CONFKUBE_ATTESTATION_DIR/m, 'on hardware /dev/attestation is the only quote source');
});
