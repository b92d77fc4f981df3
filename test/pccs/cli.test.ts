// `confkube pccs fetch|import|export` for an air-gapped cluster: the PCKIDRetrievalTool CSV taken to a connected
// machine, fetched from (a test peer replaying) Intel PCS, imported into the cluster's store, exported back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, repoRoot, runCli } from '../helpers/cli.js';
import { API_KEY, platform, runCliAsync, startPcsPeer } from './helpers.js';
import { createPlatform, loadPlatform } from '../../src/sim/index.js';
import { spawn } from 'node:child_process';
import { freePort } from '../../src/lib/net.js';
import { toPem } from '../../src/lib/pem.js';


const csvLine = (r: typeof platform.registration): string => [r.enc_ppid, r.pce_id, r.cpu_svn, r.pce_svn, r.qe_id].join(',');

test('pccs fetch on a connected machine, import in the cluster, export back; registrations listed for the next fetch', async () => {
  const peer = await startPcsPeer();
  const dir = mkdtempSync(join(tmpdir(), 'confkube-pccs-cli-'));
  try {
    const f = (n: string) => join(dir, n);
    writeFileSync(f('pckid_retrieval.csv'), csvLine(platform.registration) + '\r\n');
    writeFileSync(f('key'), API_KEY + '\n');
    writeFileSync(f('wrong-key'), 'wrong\n');
    writeFileSync(f('root.pem'), platform.rootCertPem);

    const refused = await runCliAsync(['pccs', 'fetch', f('pckid_retrieval.csv'), '-o', f('cache.json'), '--pcs-url', peer.url, '--api-key-file', f('wrong-key'), '--trust-anchor', f('root.pem')]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /refused the API key/);
    const fetched = await runCliAsync(['pccs', 'fetch', f('pckid_retrieval.csv'), '-o', f('cache.json'), '--pcs-url', peer.url, '--api-key-file', f('key'), '--trust-anchor', f('root.pem')]);
    assert.equal(fetched.status, 0, fetched.stderr);
    const cache = JSON.parse(readFileSync(f('cache.json'), 'utf8'));
    assert.equal(cache.pck_certs.length, 1);
    assert.deepEqual(cache.collateral.map((c: { key: string }) => c.key).sort(), ['pckcrl:processor', 'qe', 'rootcacrl', `tcb:${platform.expected.fmspc}`]);
    await peer.stop();

    const store = `sqlite:${f('store.db')}`;
    // Without the trust anchor the simulated PCK certificates are refused (they do not chain to Intel's root).
    const untrusted = runCli(['pccs', 'import', f('cache.json'), '--store', store]);
    assert.equal(untrusted.status, 2);
    assert.match(untrusted.stderr, /ERR_PCCS_FILE: .*trust anchor/);
    const imported = runCli(['pccs', 'import', f('cache.json'), '--store', store, '--trust-anchor', f('root.pem'), '--json']);
    assert.equal(imported.status, 0, imported.stderr);
    assert.deepEqual(JSON.parse(imported.stdout), { platforms: 0, pckCerts: 1, collateral: 4 });

    // A new node's CSV: registrations only, listed by export as what the next fetch needs.
    const next = createPlatform({ seed: 'next node' }).registration;
    writeFileSync(f('new.csv'), csvLine(next) + '\n');
    assert.equal(runCli(['pccs', 'import', f('new.csv'), '--store', store]).status, 0);
    const exported = runCli(['pccs', 'export', '--store', store]);
    assert.equal(exported.status, 0, exported.stderr);
    const out = JSON.parse(exported.stdout);
    assert.deepEqual(out.platforms, [next]);
    assert.deepEqual(out.pck_certs, cache.pck_certs, 'the PCS answer kept byte for byte');
    assert.deepEqual(out.collateral.map((c: { body: string }) => c.body).sort(), cache.collateral.map((c: { body: string }) => c.body).sort());

    writeFileSync(f('bad.csv'), 'abc,0000\n');
    const bad = runCli(['pccs', 'import', f('bad.csv'), '--store', store]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bad\.csv line 1: expected 5 or 6 comma-separated fields/);
  } finally {
    await peer.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve: a bad --pccs-mode, or LAZY/REQ with no upstream, is a usage error', () => {
  const dir = 'test/fixtures/attestation/collateral/automata_2025-08';
  const bogus = runCli(['serve', '--collateral', dir, '--pccs-mode', 'EAGER']);
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /--pccs-mode: expected LAZY, REQ or OFFLINE, got "EAGER"/);
  const lazy = runCli(['serve', '--collateral', dir, '--pccs-mode', 'lazy']);
  assert.equal(lazy.status, 2);
  assert.match(lazy.stderr, /--pccs-mode LAZY needs --pcs-url/);
});

test('serve --simulation: the simulated platform registered at start; its PCK certificate is served, LAZY with a PCS that never hears of it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-pccs-serve-'));
  const peer = await startPcsPeer();
  const port = await freePort();
  const child = spawn(process.execPath, [...CLI, 'serve', '--listen', `127.0.0.1:${port}`, '--store', `sqlite:${join(dir, 'store.db')}`,
    '--simulation', join(dir, 'sim'), '--pccs-mode', 'LAZY', '--pcs-url', peer.url], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFKUBE_KEK: '07'.repeat(32), CONFKUBE_PCS_API_KEY: API_KEY } });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    const r = loadPlatform(join(dir, 'sim')).registration;
    const res = await fetch(`http://127.0.0.1:${port}/sgx/certification/v4/pckcert?cpusvn=${r.cpu_svn}&pcesvn=${r.pce_svn}&pceid=${r.pce_id}&qeid=${r.qe_id}`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await res.text(), toPem(loadPlatform(join(dir, 'sim')).certificates.pck));
    assert.equal(peer.calls(), 0, 'the simulated platform never goes to PCS');
  } finally {
    child.kill('SIGTERM');
    await exited;
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
