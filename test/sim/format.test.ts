// The simulated platform speaks Intel's formats: compared with real Intel files (test/fixtures/sim/README.md)
// for JSON key order, certificate/CRL extensions and names, and the PCK SGX extension layout; parsed field
// for field by the same parser as real quotes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toHex } from '../../src/lib/bytes.js';
import { parseQuote, parsePckExtensions, SGX_EXTENSION_OID } from '../../src/sgx/index.js';
import { SIM_FMSPC, SIM_QE_MRENCLAVE, SIM_QE_MRSIGNER, SIM_ROOT_SUBJECT_CN, SIM_TCB_LEVELS } from '../../src/sim/index.js';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.js';
import { MRENCLAVE, MRSIGNER, platform } from './helpers.js';

const cert = (der: Uint8Array) => new pkijs.Certificate({ schema: asn1js.fromBER(der).result });
const crl = (der: Uint8Array) => new pkijs.CertificateRevocationList({ schema: asn1js.fromBER(der).result });
const extShape = (c: pkijs.Certificate) => (c.extensions ?? []).map((e) => `${e.extnID}${e.critical ? '!' : ''}`);
const nameShape = (n: pkijs.RelativeDistinguishedNames) => n.typesAndValues.map((t) => `${t.type}:${t.value.constructor.name}`);
const cn = (n: pkijs.RelativeDistinguishedNames) => String(n.typesAndValues.find((t) => t.type === '2.5.4.3')?.value.valueBlock.value);

/** Every OID in the SGX extension, depth-first, with the ASN.1 type of its value: the extension's layout. */
function sgxLayout(c: pkijs.Certificate): string[] {
  const ext = c.extensions!.find((e) => e.extnID === SGX_EXTENSION_OID)!;
  const out: string[] = [];
  const walk = (node: asn1js.AsnType) => {
    if (node instanceof asn1js.Sequence) {
      const [a, b] = node.valueBlock.value;
      if (a instanceof asn1js.ObjectIdentifier && b) {
        out.push(`${a.valueBlock.toString()}=${b.constructor.name}`);
        walk(b);
      } else node.valueBlock.value.forEach(walk);
    }
  };
  walk(asn1js.fromBER(ext.extnValue.valueBlock.valueHexView).result);
  return out;
}

function realChain(file: string): Uint8Array[] {
  return parseQuote(fixtureBytes(`sim/${file}`)).certificationData.pckChain!;
}

function keyPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length > 0 ? keyPaths(v[0], `${prefix}[]`) : [];
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [`${prefix}.${k}`, ...keyPaths(x, `${prefix}.${k}`)]);
  return [];
}

test('TCB Info v3 and QE Identity: compact PCS JSON with Intel key order, Intel date and hex formats', () => {
  const p = platform({ status: 'SWHardeningNeeded' });
  const simTcb = new TextDecoder().decode(p.collateral.tcbInfo);
  const realTcb = fixtureText('sim/tcb_info_00906ED50000.json');
  const simQe = new TextDecoder().decode(p.collateral.qeIdentity);
  const realQe = fixtureText('sim/qe_identity.json');
  for (const [sim, real] of [
    [simTcb, realTcb],
    [simQe, realQe],
  ]) {
    assert.equal(sim, JSON.stringify(JSON.parse(sim)), 'compact, as PCS serves it');
    const s = JSON.parse(sim);
    const r = JSON.parse(real.trim());
    assert.deepEqual(Object.keys(s), Object.keys(r));
    // The level with advisories has the full key set in both.
    const inner = Object.keys(s)[0];
    const lvl = (o: { tcbLevels: { advisoryIDs?: string[] }[] }) => o.tcbLevels.find((l) => l.advisoryIDs);
    assert.deepEqual(keyPaths({ ...s[inner], tcbLevels: [lvl(s[inner])] }), keyPaths({ ...r[inner], tcbLevels: [lvl(r[inner])] }));
    assert.match(s.signature, /^[0-9a-f]{128}$/);
    for (const k of ['issueDate', 'nextUpdate']) assert.match(s[inner][k], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  const t = JSON.parse(simTcb).tcbInfo;
  assert.equal(t.fmspc, SIM_FMSPC.toUpperCase());
  assert.equal(t.tcbLevels.length, SIM_TCB_LEVELS.length);
  assert.equal(t.tcbLevels[0].tcbStatus, 'UpToDate');
  const q = JSON.parse(simQe).enclaveIdentity;
  assert.equal(q.mrsigner, SIM_QE_MRSIGNER.toUpperCase());
  assert.notEqual(q.mrsigner, '8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF', "not Intel's QE MRSIGNER");
  for (const k of ['miscselect', 'miscselectMask', 'attributes', 'attributesMask', 'isvprodid']) assert.deepEqual(q[k], JSON.parse(realQe).enclaveIdentity[k], k);
});

test("certificates: Intel's extensions in Intel's order, Intel's name layout, names that cannot be mistaken for Intel's", () => {
  for (const [caType, file] of [
    ['processor', 'zkdcap_v3.bin'],
    ['platform', 'automata_v3.bin'],
  ] as const) {
    const p = platform({ caType });
    const [rPck, rCa, rRoot] = realChain(file).map(cert);
    const sPck = cert(p.certificates.pck);
    const sCa = cert(caType === 'processor' ? p.certificates.processorCa : p.certificates.platformCa);
    const sRoot = cert(p.rootCertDer);
    for (const [s, r, what] of [
      [sPck, rPck, 'PCK'],
      [sCa, rCa, 'PCK CA'],
      [sRoot, rRoot, 'root'],
    ] as const) {
      assert.deepEqual(extShape(s), extShape(r), `${caType} ${what} extensions`);
      assert.deepEqual(nameShape(s.subject), nameShape(r.subject), `${caType} ${what} subject layout`);
      assert.equal(s.version, r.version);
      assert.equal(s.signatureAlgorithm.algorithmId, r.signatureAlgorithm.algorithmId);
      assert.ok(!cn(s.subject).startsWith('Intel'), cn(s.subject));
      assert.ok(!String(s.subject.typesAndValues[1].value.valueBlock.value).includes('Intel Corporation'));
    }
    assert.deepEqual(sgxLayout(sPck), sgxLayout(rPck), `${caType} SGX extension layout`);
    // 5 top-level fields + TCB (16 components, PCESVN, CPUSVN); Platform CA adds .6 and .7 (3 flags).
    assert.equal(sgxLayout(rPck).length, caType === 'processor' ? 23 : 28);
    assert.equal(extShape(rPck).length, 6);
    assert.ok(cn(sCa.subject).includes(caType === 'processor' ? 'Processor' : 'Platform'));
  }
  const tcbReal = cert(Uint8Array.from(Buffer.from(fixtureText('sim/tcb_signing.pem').replace(/-----[^-]+-----|\s/g, ''), 'base64')));
  const tcbSim = cert(platform().certificates.tcbSigning);
  assert.deepEqual(extShape(tcbSim), extShape(tcbReal));
  const root = cert(platform().rootCertDer);
  assert.equal(cn(root.subject), SIM_ROOT_SUBJECT_CN);
  assert.ok(SIM_ROOT_SUBJECT_CN.includes('SGX Root CA') && /NOT INTEL/.test(SIM_ROOT_SUBJECT_CN));
});

test("CRLs: v2, Intel's extensions (CRL Number, AKI), keyCompromise entries, issuer exactly the CA subject", () => {
  const p = platform({ status: 'Revoked', caType: 'platform' });
  const real = crl(fixtureBytes('sim/automata_pck_platform_crl.der'));
  const realProc = crl(fixtureBytes('sim/pck_processor_crl.der'));
  const realRoot = crl(fixtureBytes('sim/root_ca_crl.der'));
  const shape = (c: pkijs.CertificateRevocationList) => ({
    version: c.version,
    sig: c.signatureAlgorithm.algorithmId,
    ext: (c.crlExtensions?.extensions ?? []).map((e) => e.extnID),
    entryExt: (c.revokedCertificates?.[0]?.crlEntryExtensions?.extensions ?? []).map((e) => e.extnID),
    issuer: nameShape(c.issuer),
  });
  const sPlat = crl(p.collateral.pckPlatformCrl);
  assert.deepEqual(shape(sPlat), shape(real));
  assert.deepEqual(shape(crl(p.collateral.rootCaCrl)), shape(realRoot));
  assert.deepEqual(shape(crl(p.collateral.pckProcessorCrl)).ext, shape(realProc).ext);
  assert.equal(toHex(new Uint8Array(sPlat.issuer.toSchema().toBER())), toHex(new Uint8Array(cert(p.certificates.platformCa).subject.toSchema().toBER())));
  const pckSerial = toHex(new Uint8Array(cert(p.certificates.pck).serialNumber.valueBlock.valueHexView));
  const revoked = (c: pkijs.CertificateRevocationList) => (c.revokedCertificates ?? []).map((r) => toHex(new Uint8Array(r.userCertificate.valueBlock.valueHexView)));
  assert.ok(revoked(sPlat).includes(pckSerial), 'the Revoked scenario puts the PCK serial on its CA CRL');
  assert.ok(!revoked(crl(p.collateral.pckProcessorCrl)).includes(pckSerial), 'and only on that CA CRL');
  assert.ok(!revoked(crl(platform({ caType: 'platform' }).collateral.pckPlatformCrl)).includes(pckSerial));
  // Reason code keyCompromise (1), as Intel's entries.
  const reason = sPlat.revokedCertificates![0].crlEntryExtensions!.extensions[0];
  assert.equal(toHex(new Uint8Array(reason.extnValue.valueBlock.valueHexView)), '0a0101');
});

test('simulated quotes parse field for field with the parser used for real quotes (v3 and v4)', () => {
  for (const caType of ['processor', 'platform'] as const) {
    const p = platform({ status: 'OutOfDate', caType, qeOutOfDate: true });
    for (const version of [3, 4] as const) {
      const reportData = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
      const raw = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, isvProdId: 513, isvSvn: 65535, debug: true, reportData, version, configSvn: 7, miscSelect: 0x01020304 });
      const q = parseQuote(raw);
      assert.equal(q.header.version, version);
      assert.equal(q.header.attestationKeyType, 2);
      assert.equal(q.header.teeType, 0);
      assert.equal(q.header.qeSvn, 6);
      assert.equal(q.header.pceSvn, 13);
      assert.equal(toHex(q.header.qeVendorId), '939a7233f79c4ca9940a0db3957f0607');
      assert.equal(toHex(q.header.userData).slice(32), '00000000');
      const r = q.report!;
      assert.equal(toHex(r.mrEnclave), toHex(MRENCLAVE));
      assert.equal(toHex(r.mrSigner), toHex(MRSIGNER));
      assert.equal(r.isvProdId, 513);
      assert.equal(r.isvSvn, 65535);
      assert.equal(r.configSvn, 7);
      assert.equal(r.miscSelect, 0x01020304);
      assert.equal(r.attributes.debug, true);
      assert.equal(r.attributes.init, true);
      assert.equal(r.attributes.mode64bit, true);
      assert.equal(toHex(r.reportData), toHex(reportData));
      assert.deepEqual([...r.cpuSvn], SIM_TCB_LEVELS.find((l) => l.tcbStatus === 'OutOfDate')!.components);
      assert.equal(q.signedData.length, 432);
      assert.equal(q.trailingBytes, 0);
      assert.equal(toHex(q.qeReport.mrEnclave), SIM_QE_MRENCLAVE);
      assert.equal(toHex(q.qeReport.mrSigner), SIM_QE_MRSIGNER);
      assert.equal(q.qeReport.isvProdId, 1);
      assert.equal(q.qeReport.attributes.provisionKey, true);
      assert.equal(q.qeReport.attributes.debug, false);
      assert.equal(q.qeAuthData.length, 32);
      assert.equal(toHex(q.qeReport.reportData.subarray(32)), '00'.repeat(32));
      assert.equal(q.certificationData.type, 5);
      assert.equal(q.outerCertificationData?.type ?? null, version === 4 ? 6 : null);
      const chain = q.certificationData.pckChain!;
      const ca = caType === 'processor' ? p.certificates.processorCa : p.certificates.platformCa;
      assert.deepEqual(chain.map(toHex), [p.certificates.pck, ca, p.rootCertDer].map(toHex));
      const ext = parsePckExtensions(chain[0]);
      assert.equal(toHex(ext.fmspc), SIM_FMSPC);
      assert.equal(toHex(ext.pceId), '0000');
      assert.equal(ext.pceSvn, 13);
      assert.deepEqual([...ext.cpuSvn], ext.tcbComponents, 'tcbType 0: CPUSVN bytes are the components');
      assert.equal(ext.sgxType, 0);
      assert.equal(ext.ppid.length, 16);
      if (caType === 'platform') {
        assert.equal(ext.platformInstanceId?.length, 16);
        assert.deepEqual(ext.configuration, { dynamicPlatform: true, cachedKeys: true, smtEnabled: true });
      } else {
        assert.equal(ext.platformInstanceId, null);
        assert.equal(ext.configuration, null);
      }
    }
  }
});

test('bad quote input is a typed error, not a malformed quote', () => {
  const p = platform();
  for (const bad of [
    { mrEnclave: new Uint8Array(31), mrSigner: MRSIGNER },
    { mrEnclave: MRENCLAVE, mrSigner: new Uint8Array(33) },
    { mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, reportData: new Uint8Array(65) },
    { mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, isvSvn: 65536 },
    { mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, isvProdId: -1 },
    { mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, version: 5 as 3 },
  ]) {
    assert.throws(() => p.quote(bad), (e: Error & { code?: string }) => e.code === 'ERR_SIM_INPUT', JSON.stringify(Object.keys(bad)));
  }
  assert.throws(() => platform({ status: 'Fine' as 'UpToDate' }), (e: Error & { code?: string }) => e.code === 'ERR_SIM_INPUT');
});
