// Two services under test, in-process: A reads collateral from a directory and serves the PCCS v4 API from its
// cache (plain HTTP on 127.0.0.1, standing in for Intel PCS / a PCCS); B fetches its collateral from A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REAL_CASE, request, startService } from './helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';

test('the service serves the PCCS v4 API from its cache, byte-exact, with issuer-chain headers; another service attests through it', async () => {
  const a = await startService({ plain: true });
  const storeB = new MemoryStore();
  let verifyAt = REAL_CASE.nowMs;
  const b = await startService({ store: storeB, collateral: { upstream: a.url, refreshMarginMs: 3600_000 }, now: () => verifyAt });
  try {
    const tcb = await fetch(`${a.url}/sgx/certification/v4/tcb?fmspc=00606A000000`);
    assert.equal(tcb.status, 200);
    assert.deepEqual(Buffer.from(await tcb.arrayBuffer()), readFileSync(join(REAL_CASE.collateral, 'tcb_info_00606a000000.json')));
    const chain = decodeURIComponent(tcb.headers.get('tcb-info-issuer-chain') ?? '');
    assert.match(chain, /BEGIN CERTIFICATE/);
    const qe = await fetch(`${a.url}/sgx/certification/v4/qe/identity`);
    assert.deepEqual(Buffer.from(await qe.arrayBuffer()), readFileSync(join(REAL_CASE.collateral, 'qe_identity.json')));
    assert.ok(qe.headers.get('sgx-enclave-identity-issuer-chain'));
    const crl = await fetch(`${a.url}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`);
    assert.deepEqual(Buffer.from(await crl.arrayBuffer()), readFileSync(join(REAL_CASE.collateral, 'pck_platform_crl.der')));
    assert.ok(crl.headers.get('sgx-pck-crl-issuer-chain'));
    const pem = await (await fetch(`${a.url}/sgx/certification/v4/pckcrl?ca=platform`)).text();
    assert.match(pem, /BEGIN X509 CRL/);
    assert.equal((await fetch(`${a.url}/sgx/certification/v4/pckcrl?ca=processor&encoding=der`)).status, 404);
    assert.equal((await fetch(`${a.url}/sgx/certification/v4/tcb?fmspc=zz`)).status, 400);
    const root = await fetch(`${a.url}/sgx/certification/v4/rootcacrl`);
    assert.deepEqual(Buffer.from(await root.arrayBuffer()), readFileSync(join(REAL_CASE.collateral, 'root_ca_crl.der')));

    // B has no collateral until a quote needs it; then it holds A's raw bytes.
    assert.equal((await storeB.listCollateral()).length, 0);
    const res = await request(b, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') }), { 'content-type': 'application/json' });
    assert.equal(res.status, 200, res.text);
    const rec = await storeB.getCollateral('tcb:00606a000000');
    assert.ok(rec);
    assert.deepEqual(Buffer.from(rec.body), readFileSync(join(REAL_CASE.collateral, 'tcb_info_00606a000000.json')));
    assert.equal(rec.issuerChain, chain);
    assert.ok(rec.nextUpdate && rec.nextUpdate > REAL_CASE.nowMs);
    const firstFetch = rec.fetchedAt;

    // Within an hour of nextUpdate the next attestation refreshes from upstream first.
    const soonest = Math.min(...(await storeB.listCollateral()).map((r) => r.nextUpdate ?? Infinity));
    verifyAt = soonest - 1800_000;
    const res2 = await request(b, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') }), { 'content-type': 'application/json' });
    assert.equal(res2.status, 200, res2.text);
    assert.equal((await storeB.getCollateral('tcb:00606a000000'))!.fetchedAt, verifyAt);
    assert.notEqual(firstFetch, verifyAt);

    const metrics = await request(b, 'GET', '/metrics');
    assert.match(metrics.text, /confkube_collateral_age_seconds\{key="tcb:00606a000000"\}/);
    assert.match(metrics.text, /confkube_attestations_total\{type="SgxEnclave",decision="permit",tcb_status="SWHardeningNeeded",simulated="false"\} 2/);
  } finally {
    await b.stop();
    await a.stop();
  }
});
