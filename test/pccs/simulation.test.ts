// The simulated platform on the quoting path with no hardware: it registers as its quote provider library would,
// the service fetches its PCK certificates from the platform's own PCS and selects the one its quotes carry; then
// Intel's PCK certificate selection against generated raw TCBs (fast-check), compared with a direct reading of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { createPlatform, SIM_TCB_LEVELS } from '../../src/sim/index.js';
import { simulatedPcs } from '../../src/sim/pcs.js';
import { toPem } from '../../src/lib/pem.js';
import { parseQuote } from '../../src/sgx/quote.js';
import { parsePckExtensions } from '../../src/sgx/pck.js';
import { parseSignedJson } from '../../src/dcap/signed-json.js';
import { parseTcbInfo } from '../../src/dcap/tcb-info.js';
import { selectPckCert } from '../../src/dcap/pck-cert-selection.js';
import { startPccs } from './helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest();

test('simulation: the platform registers, its PCK certificate is served through the PCCS routes, and its quote attests', async () => {
  const p = createPlatform({ seed: 'pccs-simulation', status: 'OutOfDate' });
  const svc = await startPccs({ simulated: simulatedPcs(p) }, { collateral: { simulated: { rootCertDer: p.rootCertDer, files: p.collateralFiles() } }, now: Date.now });
  try {
    const r = p.registration;
    const query = `/sgx/certification/v4/pckcert?encrypted_ppid=${r.enc_ppid}&cpusvn=${r.cpu_svn}&pcesvn=${r.pce_svn}&pceid=${r.pce_id}&qeid=${r.qe_id}`;
    const posted = await fetch(`${svc.url}/sgx/certification/v4/platforms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r) });
    assert.equal(posted.status, 201, await posted.clone().text());
    const res = await fetch(svc.url + query);
    assert.equal(res.status, 200);
    const pem = await res.text();
    const quote = p.quote({ mrEnclave: sha('enclave'), mrSigner: sha('signer') });
    const carried = parseQuote(quote).certificationData.pckChain![0];
    assert.equal(pem, toPem(carried), 'the certificate the quote carries, chosen among one per TCB level');
    assert.equal(res.headers.get('sgx-tcbm'), p.pckCertificates().find((c) => c.level.tcbStatus === 'OutOfDate')!.tcbm);
    const ca = new X509Certificate(Buffer.from(decodeURIComponent(res.headers.get('sgx-pck-certificate-issuer-chain')!)));
    assert.ok(new X509Certificate(pem).verify(ca.publicKey));
    assert.equal(parsePckExtensions(carried).tcbComponents[0], 13);
    // The QE-ID in the quote header is the one the platform registered.
    assert.equal(Buffer.from(parseQuote(quote).header.userData.subarray(0, 16)).toString('hex').toUpperCase(), r.qe_id);

    const att = await fetch(`${svc.url}/attest/SgxEnclave?api-version=2022-08-01`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quote: Buffer.from(quote).toString('base64url') }) });
    assert.equal(att.status, 200, await att.clone().text());

    // Another simulated platform is not this one's: nothing to fetch, nothing cached.
    const other = createPlatform({ seed: 'another' }).registration;
    const o = await fetch(`${svc.url}/sgx/certification/v4/pckcert?encrypted_ppid=${other.enc_ppid}&cpusvn=${other.cpu_svn}&pcesvn=${other.pce_svn}&pceid=${other.pce_id}&qeid=${other.qe_id}`);
    assert.equal(o.status, 404);
  } finally {
    await svc.stop();
  }
});

test('PCK certificate selection: the chosen certificate is at or below the raw TCB, and no certificate of a higher TCB level is', () => {
  const p = createPlatform({ seed: 'selection', issuedAt: new Date('2026-06-01T00:00:00Z') });
  const info = parseTcbInfo(parseSignedJson(p.collateral.tcbInfo, 'tcbInfo', 'TCB Info'));
  const certs = p.pckCertificates().map((c) => parsePckExtensions(c.der));
  const le = (c: { tcbComponents: number[]; pceSvn: number }, comps: number[], pce: number) => c.pceSvn <= pce && c.tcbComponents.every((v, i) => v <= comps[i]);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (comps, pce, nearLevels) => {
      // Half the cases near the levels (the interesting region), half anywhere.
      const raw = nearLevels ? [comps[0] % 20, ...SIM_TCB_LEVELS[0].components.slice(1).map((v, i) => v + (comps[i + 1] % 2))] : comps;
      const i = selectPckCert(info, { cpuSvn: Uint8Array.from(raw), pceSvn: pce }, certs);
      const fitting = certs.map((c, j) => j).filter((j) => le(certs[j], raw, pce));
      if (fitting.length === 0) return i === -1;
      // The sim's certificates are one per level, told apart by component 1: the best is the highest that fits.
      const best = fitting.reduce((a, b) => (certs[b].tcbComponents[0] > certs[a].tcbComponents[0] ? b : a));
      return i === best;
    }),
    { numRuns: 500 },
  );
  assert.throws(() => selectPckCert({ ...info, fmspc: '000000000000' }, { cpuSvn: new Uint8Array(16), pceSvn: 0 }, certs), /FMSPC/);
  assert.throws(() => selectPckCert(info, { cpuSvn: new Uint8Array(15), pceSvn: 0 }, certs), /16 bytes/);
});
