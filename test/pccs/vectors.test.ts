// Real Intel PCK certificates (the vector quotes' own, test/fixtures/dcap/README.md): imported with
// `confkube pccs import`, served back byte for byte by GET /pckcert with Intel's headers, and `confkube quote verify`
// of the same quotes with nothing but the collateral the service serves (--pccs-url).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseQuote } from '../../src/sgx/quote.js';
import { parsePckExtensions } from '../../src/sgx/pck.js';
import { toHex } from '../../src/lib/bytes.js';
import { openStore } from '../../src/store/index.js';
import { request, startService } from '../attestation/helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { runCliAsync } from './helpers.js';

const DCAP = fileURLToPath(new URL('../fixtures/dcap/', import.meta.url));

const CASES = [
  { quote: 'quotes/automata_v3.bin', collateral: 'collateral/automata_2025-08', at: 1755236700, ca: 'platform', status: 'SWHardeningNeeded' },
  { quote: 'quotes/zkdcap_v3.bin', collateral: 'collateral/zkdcap_2025-01', at: 1737458686, ca: 'processor', status: 'SWHardeningNeeded' },
] as const;


for (const c of CASES) {
  test(`${c.quote}: its PCK certificate imported, served back byte for byte; quote verify with the service's collateral only`, async () => {
    const quote = readFileSync(join(DCAP, c.quote));
    const q = parseQuote(quote);
    const pems = q.certificationData.pckChainPem!;
    const ext = parsePckExtensions(q.certificationData.pckChain![0]);
    const qeId = toHex(q.header.userData.subarray(0, 16)).toUpperCase();
    const pceSvnHex = toHex(Uint8Array.of(ext.pceSvn & 0xff, ext.pceSvn >> 8)).toUpperCase();
    const tcbm = (toHex(ext.cpuSvn) + pceSvnHex).toUpperCase();
    const tcb: Record<string, number> = {};
    ext.tcbComponents.forEach((v, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = v));
    tcb.pcesvn = ext.pceSvn;
    const dir = mkdtempSync(join(tmpdir(), 'confkube-pccs-vectors-'));
    const file = join(dir, 'cache.json');
    writeFileSync(file, JSON.stringify({
      format: 'confkube-pccs-cache/v1', platforms: [], collateral: [],
      pck_certs: [{ qe_id: qeId, pce_id: toHex(ext.pceId).toUpperCase(), enc_ppid: '', platform_manifest: '', fmspc: toHex(ext.fmspc).toUpperCase(), ca: c.ca, issuer_chain: pems.slice(1).join('\n'), pckcerts: JSON.stringify([{ tcb, tcbm, cert: encodeURIComponent(pems[0]) }]) }],
    }));
    const storeUrl = `sqlite:${join(dir, 'store.db')}`;
    const imported = runCli(['pccs', 'import', file, '--store', storeUrl, '--json']);
    assert.equal(imported.status, 0, imported.stderr);
    assert.deepEqual(JSON.parse(imported.stdout), { platforms: 0, pckCerts: 1, collateral: 0 });

    const store = await openStore(storeUrl);
    const svc = await startService({ store, closeStore: true, collateral: { directory: join(DCAP, c.collateral) }, nowMs: c.at * 1000 });
    try {
      const res = await request(svc, 'GET', `/sgx/certification/v4/pckcert?qeid=${qeId}&cpusvn=${toHex(ext.cpuSvn)}&pcesvn=${pceSvnHex}&pceid=${toHex(ext.pceId)}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, pems[0], 'the PEM text exactly as the quote carries it');
      assert.equal(res.headers['sgx-tcbm'], tcbm);
      assert.equal(res.headers['sgx-fmspc'], toHex(ext.fmspc).toUpperCase());
      assert.equal(res.headers['sgx-pck-certificate-ca-type'], c.ca);
      assert.equal(decodeURIComponent(String(res.headers['sgx-pck-certificate-issuer-chain'])), pems.slice(1).join('\n'));
      // A raw TCB one PCESVN below the certificate's: nothing to serve.
      const below = toHex(Uint8Array.of((ext.pceSvn - 1) & 0xff, (ext.pceSvn - 1) >> 8));
      assert.equal((await request(svc, 'GET', `/sgx/certification/v4/pckcert?qeid=${qeId}&cpusvn=${toHex(ext.cpuSvn)}&pcesvn=${below}&pceid=0000`)).status, 404);

      const v = await runCliAsync(['quote', 'verify', join(DCAP, c.quote), '--pccs-url', svc.url, '--pccs-ca', svc.caFile, '--at', String(c.at), '--json']);
      assert.equal(v.status, 0, v.stderr + v.stdout);
      const verdict = JSON.parse(v.stdout);
      assert.equal(verdict.status, c.status);
      assert.equal(verdict.ok, true);
    } finally {
      await svc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('quote verify --pccs-url: a service without the FMSPC is a clear usage error, and one of --collateral/--pccs-url is required', async () => {
  const svc = await startService({});
  try {
    const v = await runCliAsync(['quote', 'verify', join(DCAP, 'quotes/zkdcap_v3.bin'), '--pccs-url', svc.url, '--pccs-ca', svc.caFile]);
    assert.equal(v.status, 2, v.stderr);
    assert.match(v.stderr, /--pccs-url .*HTTP 404/);
    const none = await runCliAsync(['quote', 'verify', join(DCAP, 'quotes/zkdcap_v3.bin')]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--collateral PATH or --pccs-url URL/);
  } finally {
    await svc.stop();
  }
});
