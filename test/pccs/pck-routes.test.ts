// The PCK routes against a test peer that replays Intel PCS v4 (helpers.ts): LAZY, REQ and OFFLINE as Intel's PCCS
// runs them, Intel's headers and status codes, certificates checked with the project's own PCK extension parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { parsePckExtensions } from '../../src/sgx/pck.js';
import { pemDecode, toPem } from '../../src/lib/pem.js';
import { toHex } from '../../src/lib/bytes.js';
import { SIM_TCB_LEVELS } from '../../src/sim/index.js';
import { ADMIN, API_KEY, pckcertQuery, platform, startPccs, startPcsPeer } from './helpers.js';
import { freePort } from '../../src/lib/net.js';

const reg = platform.registration;
const cpusvnOf = (c0: number): string => toHex(Uint8Array.from([c0, ...SIM_TCB_LEVELS[0].components.slice(1)])).toUpperCase();

/** The answer checked as a quote provider library would use it: chain, extension, headers. */
async function checkPckAnswer(res: Response, wantComponent1: number): Promise<string> {
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/x-pem-file');
  assert.match(res.headers.get('request-id') ?? '', /^[0-9a-f]{32}$/);
  const pem = await res.text();
  const chain = pemDecode(decodeURIComponent(res.headers.get('sgx-pck-certificate-issuer-chain') ?? '')).map((d) => new X509Certificate(d));
  assert.equal(chain.length, 2);
  const cert = new X509Certificate(pem);
  assert.ok(cert.verify(chain[0].publicKey), 'PCK certificate signed by the PCK CA of the issuer chain');
  assert.ok(chain[0].verify(chain[1].publicKey) && Buffer.from(chain[1].raw).equals(Buffer.from(platform.rootCertDer)), 'PCK CA signed by the root');
  const ext = parsePckExtensions(pemDecode(pem)[0]);
  assert.equal(toHex(ext.fmspc), platform.expected.fmspc);
  assert.equal(res.headers.get('sgx-fmspc'), platform.expected.fmspc.toUpperCase());
  assert.equal(res.headers.get('sgx-tcbm'), (toHex(ext.cpuSvn) + '0d00').toUpperCase());
  assert.equal(res.headers.get('sgx-pck-certificate-ca-type'), 'processor');
  assert.equal(ext.tcbComponents[0], wantComponent1);
  return pem;
}

test('LAZY: a miss is fetched from PCS with the API key and cached; afterwards the service answers with PCS stopped', async () => {
  const peer = await startPcsPeer();
  const svc = await startPccs({ mode: 'LAZY', upstream: peer.url, apiKey: API_KEY });
  try {
    const pem = await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg)), 17);
    // The platform's own level: the very certificate its quotes carry.
    assert.equal(pem, toPem(platform.certificates.pck));
    assert.equal(peer.calls(), 1);
    // Concurrent misses of another platform share nothing wrongly; a second request for this one is a cache hit.
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg)), 17);
    assert.equal(peer.calls(), 1);
    await peer.stop();
    // Peer gone: other raw TCBs of the cached platform are still selected (Intel's PCK certificate selection).
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg, cpusvnOf(14))), 14);
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg, cpusvnOf(40))), 17);
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg, cpusvnOf(17), '0e00')), 17);
    // A PCESVN below every certificate's, or a raw TCB below the lowest level: no certificate, a clean 404.
    assert.equal((await fetch(svc.url + pckcertQuery(reg, cpusvnOf(17), '0c00'))).status, 404);
    const low = await fetch(svc.url + pckcertQuery(reg, cpusvnOf(10)));
    assert.equal(low.status, 404);
    assert.equal((await low.json()).error.code, 'PlatformNotFound');
    const all = await fetch(`${svc.url}/sgx/certification/v4/pckcerts?qeid=${reg.qe_id}&pceid=${reg.pce_id}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), 'application/json');
    assert.equal(all.headers.get('sgx-fmspc'), '00C0FFEE0000');
    const list = (await all.json()) as { tcb: Record<string, number>; tcbm: string; cert: string }[];
    assert.equal(list.length, SIM_TCB_LEVELS.length);
    for (const e of list) assert.equal(e.tcb.sgxtcbcomp01svn, parsePckExtensions(pemDecode(decodeURIComponent(e.cert))[0]).tcbComponents[0]);
    const byEnc = await fetch(`${svc.url}/sgx/certification/v4/pckcerts?encrypted_ppid=${reg.enc_ppid}&pceid=${reg.pce_id}`);
    assert.equal(byEnc.status, 200);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.match(metrics, /confkube_pck_requests_total\{route="pckcert",status="200"\} 5/);
    assert.match(metrics, /confkube_pck_requests_total\{route="pckcert",status="404"\} 2/);
    assert.doesNotMatch(metrics, /key="pck:/, 'PCK records are not collateral gauges');
  } finally {
    await svc.stop();
    await peer.stop().catch(() => undefined);
  }
});

test('unknown platform: 404 from PCS is a clean 404; a refused API key is a 502 that says so; bad parameters are 400', async () => {
  const peer = await startPcsPeer();
  const good = await startPccs({ mode: 'LAZY', upstream: peer.url, apiKey: API_KEY });
  const bad = await startPccs({ mode: 'LAZY', upstream: peer.url, apiKey: 'not-the-key' });
  try {
    const other = { ...reg, enc_ppid: 'AB'.repeat(384), qe_id: 'CD'.repeat(16) };
    const r = await fetch(good.url + pckcertQuery(other));
    assert.equal(r.status, 404);
    const body = await r.json();
    assert.equal(body.error.code, 'PlatformNotFound');
    assert.match(body.error.message, /no PCK certificates/);
    assert.equal((await fetch(good.url + pckcertQuery({ ...other, enc_ppid: '00'.repeat(384) }))).status, 404);

    const k = await fetch(bad.url + pckcertQuery(reg));
    assert.equal(k.status, 502);
    const kb = await k.json();
    assert.equal(kb.error.code, 'UpstreamUnauthorized');
    assert.match(kb.error.message, /API key/);
    // Remembered for a while: a refused key does not turn every request into an upstream call.
    const before = peer.calls();
    assert.equal((await fetch(bad.url + pckcertQuery(reg))).status, 502);
    assert.equal(peer.calls(), before);

    for (const q of [
      pckcertQuery(reg, 'zz'.repeat(16)),
      pckcertQuery(reg, cpusvnOf(17), '0d'),
      `/sgx/certification/v4/pckcert?cpusvn=${reg.cpu_svn}&pcesvn=${reg.pce_svn}&pceid=${reg.pce_id}`,
      `/sgx/certification/v4/pckcerts?pceid=${reg.pce_id}`,
    ]) {
      const b = await fetch(good.url + q);
      assert.equal(b.status, 400, q);
      assert.equal((await b.json()).error.code, 'InvalidParameter');
    }
    const post = (u: string, body: unknown) => fetch(`${u}/sgx/certification/v4/platforms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post(good.url, { ...reg, enc_ppid: 'x' })).status, 400);
    assert.equal((await post(good.url, [reg])).status, 400);
  } finally {
    await good.stop();
    await bad.stop();
    await peer.stop();
  }
});

test('OFFLINE never calls out: registrations queue for export; an import serves them', async () => {
  const peer = await startPcsPeer();
  const svc = await startPccs({ mode: 'OFFLINE', upstream: peer.url, apiKey: API_KEY });
  try {
    assert.equal((await fetch(svc.url + pckcertQuery(reg))).status, 404);
    const posted = await fetch(`${svc.url}/sgx/certification/v4/platforms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reg) });
    assert.equal(posted.status, 201);
    const auth = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await fetch(`${svc.url}/sgx/certification/v4/platforms`)).status, 401);
    assert.deepEqual(await (await fetch(`${svc.url}/sgx/certification/v4/platforms`, { headers: auth })).json(), [reg]);
    const exported = await (await fetch(`${svc.url}/sgx/certification/v4/platformcollateral`, { headers: auth })).json();
    assert.deepEqual(exported.platforms, [reg]);
    assert.equal(peer.calls(), 0);

    // What `pccs fetch` brings back from a connected machine: the PCS answer for the queued platform.
    const pcs = (await import('../../src/sim/pcs.js')).simulatedPcs(platform);
    const a = await pcs.pckCerts(reg);
    const file = { ...exported, pck_certs: [{ qe_id: reg.qe_id, pce_id: reg.pce_id, enc_ppid: reg.enc_ppid, platform_manifest: '', fmspc: a.fmspc, ca: a.ca, issuer_chain: a.issuerChain, pckcerts: a.raw }] };
    const put = await fetch(`${svc.url}/sgx/certification/v4/platformcollateral`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(file) });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal(await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg)), 17), toPem(platform.certificates.pck));
    assert.deepEqual(await (await fetch(`${svc.url}/sgx/certification/v4/platforms`, { headers: auth })).json(), []);
    // A certificate that does not chain to the trust anchor is refused, whole file.
    const forged = { ...file, pck_certs: [{ ...file.pck_certs[0], qe_id: 'EE'.repeat(16), issuer_chain: platform.pckChainPem.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n' }] };
    const refused = await fetch(`${svc.url}/sgx/certification/v4/platformcollateral`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(forged) });
    assert.equal(refused.status, 400);
    assert.equal((await fetch(`${svc.url}/sgx/certification/v4/refresh?type=certs`, { method: 'POST', headers: auth })).status, 400);
    assert.equal(peer.calls(), 0);
  } finally {
    await svc.stop();
    await peer.stop();
  }
});

test('REQ: a miss is a 404 without calling out; registration fetches; then the certificate is served', async () => {
  const peer = await startPcsPeer();
  const svc = await startPccs({ mode: 'REQ', upstream: peer.url, apiKey: API_KEY });
  try {
    assert.equal((await fetch(svc.url + pckcertQuery(reg))).status, 404);
    assert.equal(peer.calls(), 0);
    const posted = await fetch(`${svc.url}/sgx/certification/v4/platforms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reg) });
    assert.equal(posted.status, 201);
    assert.equal(peer.calls(), 1);
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg)), 17);
    // Registering again is a cache hit.
    await fetch(`${svc.url}/sgx/certification/v4/platforms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reg) });
    assert.equal(peer.calls(), 1);
    // Admin refresh, as Intel PCCS's: the platforms' certificates, then the FMSPCs' collateral, again from PCS.
    const auth = { authorization: `Bearer ${ADMIN}` };
    assert.equal((await fetch(`${svc.url}/sgx/certification/v4/refresh?type=certs`, { method: 'POST' })).status, 401);
    const certs = await fetch(`${svc.url}/sgx/certification/v4/refresh?type=certs&fmspc=${platform.expected.fmspc}`, { method: 'POST', headers: auth });
    assert.deepEqual(await certs.json(), { refreshed: 1, failed: [] });
    assert.equal(peer.calls(), 2);
    const none = await fetch(`${svc.url}/sgx/certification/v4/refresh?type=certs&fmspc=00906ed50000`, { headers: auth });
    assert.deepEqual(await none.json(), { refreshed: 0, failed: [] });
    const collateral = await fetch(`${svc.url}/sgx/certification/v4/refresh`, { method: 'POST', headers: auth });
    assert.deepEqual(await collateral.json(), { refreshed: 1, failed: [] });
    assert.ok(peer.calls() > 2);
  } finally {
    await svc.stop();
    await peer.stop();
  }
});

test('LAZY with no collateral of the FMSPC: the TCB Info for selection comes from the same upstream, once', async () => {
  const peer = await startPcsPeer();
  const svc = await startPccs({ mode: 'LAZY', upstream: peer.url, apiKey: API_KEY }, { collateral: { intelAnchors: [platform.rootCertDer] } });
  try {
    assert.equal(await svc.store.getCollateral(`tcb:${platform.expected.fmspc}`), null);
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg)), 17);
    const rec = await svc.store.getCollateral(`tcb:${platform.expected.fmspc}`);
    assert.ok(rec);
    assert.deepEqual(Buffer.from(rec.body), Buffer.from(platform.collateral.tcbInfo));
    const calls = peer.calls();
    await peer.stop();
    await checkPckAnswer(await fetch(svc.url + pckcertQuery(reg, cpusvnOf(15))), 15);
    assert.equal(peer.calls(), calls);
  } finally {
    await svc.stop();
    await peer.stop().catch(() => undefined);
  }
});

test('PCS unreachable: 503 with Retry-After, never a 500', async () => {
  const closed = await freePort();
  const svc = await startPccs({ mode: 'LAZY', upstream: `http://127.0.0.1:${closed}`, apiKey: API_KEY });
  try {
    const r = await fetch(svc.url + pckcertQuery(reg));
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '60');
    assert.equal((await r.json()).error.code, 'UpstreamUnavailable');
  } finally {
    await svc.stop();
  }
});

test('the platform-manifest form (POST /pckcert) serves a platform cached with that manifest', async () => {
  const svc = await startPccs({ mode: 'OFFLINE' });
  try {
    const manifest = 'AB'.repeat(8431);
    const a = await (await import('../../src/sim/pcs.js')).simulatedPcs(platform).pckCerts(reg);
    const file = { format: 'confkube-pccs-cache/v1', platforms: [], collateral: [], pck_certs: [{ qe_id: reg.qe_id, pce_id: reg.pce_id, enc_ppid: reg.enc_ppid, platform_manifest: manifest, fmspc: a.fmspc, ca: a.ca, issuer_chain: a.issuerChain, pckcerts: a.raw }] };
    const put = await fetch(`${svc.url}/sgx/certification/v4/platformcollateral`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(file) });
    assert.equal(put.status, 200, await put.clone().text());
    const post = (platformManifest: string) => fetch(`${svc.url}/sgx/certification/v4/pckcert`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platformManifest, cpusvn: cpusvnOf(16), pcesvn: reg.pce_svn, pceid: reg.pce_id }),
    });
    await checkPckAnswer(await post(manifest.toLowerCase()), 16);
    assert.equal((await post('CD'.repeat(8431))).status, 404);
    assert.equal((await post('XYZ')).status, 400);
  } finally {
    await svc.stop();
  }
});
