// A newcomer's flow: `confkube demo` in a temp data folder, then the printed attest, curl, example enclave app and
// webhook lines, run as printed. The demo service is the system under test; nothing stands in for a peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, CLI_FROM_SOURCE } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sh(cmd: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('/bin/sh', ['-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function startDemo(dataDir: string): Promise<{ child: ChildProcess; out: string }> {
  // From source: the example-app line the demo prints then runs confkube/client from source as well
  // (--conditions=confkube-source), not from a build that may be older than the tree.
  const child = spawn(process.execPath, [...CLI_FROM_SOURCE, 'demo', '--data-dir', dataDir, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Stop with Ctrl-C')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`demo exited ${code}: ${err}`)));
  });
  return { child, out: out + err };
}

test('confkube demo runs the whole flow in a fresh data folder and its printed attest, curl, enclave app, key rotation and webhook lines work as printed', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'confkube-demo-'));
  const dataDir = join(tmp, 'data');
  const { child, out } = await startDemo(dataDir);
  try {
    assert.match(out, /simulation\s+ON/);
    for (const f of ['tls.crt', 'tls.key', 'confkube.db', 'quote.bin', 'admin-token', 'sim/platform.json']) assert.ok(existsSync(join(dataDir, f)), f);
    const attestLine = out.split('\n').find((l) => / attest .*quote\.bin/.test(l))!.trim();
    const curlLine = out.split('\n').find((l) => l.trim().startsWith('curl '))!.trim();
    const a = await sh(attestLine, root);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /x-ms-sgx-is-simulated\s+true/);
    assert.match(a.stdout, /x-ms-sgx-tcb-status\s+"UpToDate"/);
    const c = await sh(curlLine + ' --silent --show-error', root);
    assert.equal(c.code, 0, c.stderr);
    const token = JSON.parse(c.stdout).token as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims['x-ms-sgx-is-simulated'], true);
    assert.equal(claims['x-ms-runtime'].hello, 'confkube');
    // The simulated platform registered at start: its PCK certificate comes back through the PCCS routes.
    const pckLine = out.split('\n').find((l) => l.includes('/sgx/certification/v4/pckcert?'))!.trim();
    const p = await sh(pckLine + ' --silent --show-error --include', root);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^HTTP\/1\.1 200/);
    assert.match(p.stdout, /sgx-tcbm: [0-9A-F]{36}\r\n/i);
    assert.match(p.stdout, /-----BEGIN CERTIFICATE-----/);

    // The demo's own simulated enclave app attested and received the demo key, opened inside it.
    const secretHash = createHash('sha256').update(readFileSync(join(dataDir, 'demo-key.secret'))).digest('hex').slice(0, 16);
    assert.match(out, /attest +token for MRENCLAVE [0-9a-f]{16}…, TCB UpToDate, "x-ms-sgx-is-simulated": true/);
    for (const form of ['challenge', 'token']) assert.match(out, new RegExp(`release \\(${form}\\) +demo-key: 32 bytes, SHA-256 ${secretHash}…`));
    assert.doesNotMatch(out, /FAILED/);
    // The example enclave app, unchanged, against the simulated /dev/attestation the demo serves.
    const appLine = out.split('\n').find((l) => l.includes('examples/enclave-app/app.mjs'))!.trim();
    assert.match(appLine, /^CONFKUBE_ATTESTATION_URL=https:\/\/127\.0\.0\.1:\d+ CONFKUBE_ATTESTATION_CA=\S+tls\.crt CONFKUBE_ATTESTATION_DIR=\S+attestation /);
    const app = await sh(appLine, root);
    assert.equal(app.code, 0, app.stderr);
    assert.match(app.stdout, /SIMULATED platform \("x-ms-sgx-is-simulated": true\)/);
    assert.match(app.stdout, new RegExp(`received demo-key \\(challenge form\\): 32 bytes, SHA-256 ${secretHash}…`));
    // The printed rotation: the same app line then receives the new version.
    const rotateLine = out.split('\n').find((l) => / keys rotate demo-key /.test(l))!.trim();
    const rotated = await sh(rotateLine, root);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newVersion = JSON.parse(rotated.stdout).version as string;
    assert.match(newVersion, /^[0-9a-f]{32}$/);
    const again = await sh(appLine, root);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /received demo-key \(challenge form\): 32 bytes, SHA-256 [0-9a-f]{16}…/);
    assert.doesNotMatch(again.stdout, new RegExp(secretHash), 'the rotated secret, not the first one');
    // The webhook's placement of the AKS FAQ's Job, shown by the demo and by its printed line alike.
    const reviewLine = out.split('\n').find((l) => / webhook --review /.test(l))!.trim();
    const review = await sh(reviewLine, root);
    assert.equal(review.code, 0, review.stderr);
    assert.match(review.stdout, /^allowed\nremove \/spec\/template\/spec\/containers\/0\/resources\/limits\/sgx\.intel\.com~1sgx_epc_mem_in_MiB\nadd .*sgx\.intel\.com~1epc "10Mi"\nadd .*sgx\.intel\.com~1enclave "1"\n$/);
    for (const l of review.stdout.trim().split('\n')) assert.ok(out.includes(`    ${l}\n`), `the demo shows ${l}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  // The demo seals its signing key under a KEK it made itself; its folder and files are the owner's alone.
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  for (const f of ['kek', 'confkube.db', 'tls.key', 'admin-token', 'demo-key.secret']) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
  // A production `confkube serve` pointed at the demo's store refuses it: its key signed simulated tokens.
  const serve = await sh(`${process.execPath} ${CLI.join(' ')} serve --listen 127.0.0.1:0 --store sqlite:${join(dataDir, 'confkube.db')} --kek-file ${join(dataDir, 'kek')} --collateral test/fixtures/attestation/collateral/automata_2025-08`, root);
  assert.equal(serve.code, 2, serve.stderr);
  assert.match(serve.stderr, /ERR_STORE_SIMULATED: store .*confkube\.db holds simulated material/);
  // Second start reuses the folder: same simulated root, the old quote still attests.
  const again = await startDemo(dataDir);
  try {
    assert.doesNotMatch(again.out, /created now/);
    const attestLine = again.out.split('\n').find((l) => / attest .*quote\.bin/.test(l))!.trim();
    const a = await sh(attestLine, root);
    assert.equal(a.code, 0, a.stderr);
  } finally {
    again.child.kill('SIGTERM');
    await new Promise((r) => again.child.once('exit', r));
    rmSync(tmp, { recursive: true, force: true });
  }
});
