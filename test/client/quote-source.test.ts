// The client's quote sources: Gramine's /dev/attestation (played by helpers/gramine-peer.ts, a test peer laid out
// as Gramine documents it, producing simulated quotes for the report data written), confkube's simulated
// attestation directory (src/sim/attestation-dir.ts, the system under test in the last tests), and a caller's
// quote function. Every quote checked must carry the report data the client asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attestationDirQuoteSource, functionQuoteSource, reportDataFor, reportDataOf, ClientError } from '../../src/client/index.js';
import { createPlatform, serveAttestationDir } from '../../src/sim/index.js';
import { graminePeer } from './helpers/gramine-peer.js';

const sha = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest());
const platform = createPlatform({ seed: 'client-quote-source' });
const enclave = { mrEnclave: sha('qs enclave'), mrSigner: sha('qs signer'), isvProdId: 1, isvSvn: 1 };

const rejectsWith = (p: Promise<unknown>, code: string, message: RegExp) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ClientError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });

test('Gramine /dev/attestation: 64 bytes written to user_report_data, the quote read carries them', async () => {
  const peer = graminePeer(platform, enclave);
  try {
    const source = attestationDirQuoteSource(peer.dir);
    const rd = reportDataFor(Buffer.from('{"nonce":"n"}'));
    assert.deepEqual(rd.subarray(32), new Uint8Array(32), 'SHA-256(R) then 32 zero bytes');
    const quote = await source.quote(rd);
    assert.deepEqual(reportDataOf(quote), rd);
    assert.deepEqual(peer.writes.at(-1), rd);
    assert.deepEqual(new Uint8Array(readFileSync(join(peer.dir, 'user_report_data'))), rd, 'exactly the 64 bytes, nothing more');
    // Calls through one source are serialised: each gets the quote for its own report data.
    const many = Array.from({ length: 4 }, (_, i) => reportDataFor(Buffer.from(`r${i}`)));
    const quotes = await Promise.all(many.map((r) => source.quote(r)));
    quotes.forEach((q, i) => assert.deepEqual(reportDataOf(q), many[i]));
  } finally {
    peer.close();
  }
});

test('Gramine /dev/attestation refusals: not dcap, no directory, a quote that never carries the report data, bad report data', async () => {
  const none = graminePeer(platform, enclave, { attestationType: 'none' });
  const silent = graminePeer(platform, enclave, { answer: false });
  try {
    await rejectsWith(attestationDirQuoteSource(none.dir).quote(new Uint8Array(64)), 'ERR_CLIENT_QUOTE_SOURCE', /says "none", not "dcap" \(the Gramine manifest needs sgx\.remote_attestation = "dcap"\)/);
    await rejectsWith(attestationDirQuoteSource(join(none.dir, 'absent')).quote(new Uint8Array(64)), 'ERR_CLIENT_QUOTE_SOURCE', /attestation_type: ENOENT \(not running under Gramine\?/);
    await rejectsWith(attestationDirQuoteSource(silent.dir, { timeoutMs: 50, pollMs: 5 }).quote(reportDataFor(Buffer.from('x'))), 'ERR_CLIENT_QUOTE_TIMEOUT', /no quote for the report data written within 50 ms \(the last quote read is not for it: its report data is 0000/);
    await rejectsWith(attestationDirQuoteSource(silent.dir).quote(new Uint8Array(32)), 'ERR_CLIENT_CONFIG', /report data must be 64 bytes, got 32/);
    writeFileSync(join(silent.dir, 'quote'), 'not a quote');
    await rejectsWith(attestationDirQuoteSource(silent.dir, { timeoutMs: 20, pollMs: 5 }).quote(new Uint8Array(64)), 'ERR_CLIENT_QUOTE_TIMEOUT', /not an SGX quote/);
  } finally {
    none.close();
    silent.close();
  }
});

test('a caller-supplied quote function: its quote must carry the report data it was given', async () => {
  const good = functionQuoteSource(async (rd) => platform.quote({ ...enclave, reportData: rd }));
  const rd = reportDataFor(Buffer.from('f'));
  assert.deepEqual(reportDataOf(await good.quote(rd)), rd);
  const stale = functionQuoteSource(async () => platform.quote({ ...enclave, reportData: new Uint8Array(64) }), 'occlum');
  await rejectsWith(stale.quote(rd), 'ERR_CLIENT_REPORT_DATA_MISMATCH', /occlum returned a quote that is not for the report data asked/);
  await rejectsWith(functionQuoteSource(async () => { throw new Error('EGo: no SGX device'); }).quote(rd), 'ERR_CLIENT_QUOTE_SOURCE', /quote function failed: EGo: no SGX device/);
  await rejectsWith(functionQuoteSource(async () => 'hex' as unknown as Uint8Array).quote(rd), 'ERR_CLIENT_QUOTE_SOURCE', /returned string, not a quote/);
  assert.throws(() => functionQuoteSource('nope' as never), (e: ClientError) => e.code === 'ERR_CLIENT_CONFIG');
});

test('the simulated attestation directory plays the same files: the client reads a quote for each report data it writes', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ck-simdir-')), 'attestation');
  const server = await serveAttestationDir(dir, platform, { ...enclave, debug: false });
  try {
    assert.equal(readFileSync(join(dir, 'attestation_type'), 'utf8'), 'dcap');
    const source = attestationDirQuoteSource(dir);
    for (const s of ['one', 'two', 'one']) {
      const rd = reportDataFor(Buffer.from(s));
      const q = await source.quote(rd);
      assert.deepEqual(reportDataOf(q), rd);
      assert.deepEqual(q.subarray(112, 144), enclave.mrEnclave, 'MRENCLAVE at report body offset 64');
    }
    assert.ok(server.quotes >= 4, `quotes written: ${server.quotes}`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
