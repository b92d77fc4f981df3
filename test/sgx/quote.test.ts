import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseQuote, quoteToJson, quotePckExtensions, parseCertificate } from '../../src/sgx/index.js';
import { toHex, isAllZero } from '../../src/lib/bytes.js';
import { ConfkubeError } from '../../src/lib/errors.js';
import { dcapCases, fixtureBytes } from '../helpers/fixtures.js';

const cases = dcapCases();
const quoteFiles = [...new Set(cases.map((c) => c.quote))];

for (const c of cases) {
  test(`quote ${c.quote} parses to the fields listed for ${c.id}`, () => {
    const q = parseQuote(fixtureBytes(`dcap/${c.quote}`));
    const f = c.fields;
    const h = f.header;
    assert.equal(q.header.version, h.version);
    assert.equal(q.header.attestationKeyType, h.att_key_type);
    assert.equal(q.header.teeType, h.tee_type);
    assert.equal(q.header.qeSvn, h.qe_svn);
    assert.equal(q.header.pceSvn, h.pce_svn);
    assert.equal(toHex(q.header.qeVendorId), h.qe_vendor_id);
    assert.equal(toHex(q.header.userData), h.user_data);
    const r = q.report!;
    const er = f.report;
    assert.equal(toHex(r.cpuSvn), er.cpusvn);
    assert.equal(r.miscSelect, er.miscselect);
    assert.equal(toHex(r.attributesRaw), er.attributes);
    assert.equal(r.attributes.debug, er.debug);
    assert.equal(toHex(r.mrEnclave), er.mrenclave);
    assert.equal(toHex(r.mrSigner), er.mrsigner);
    assert.equal(r.isvProdId, er.isvprodid);
    assert.equal(r.isvSvn, er.isvsvn);
    assert.equal(r.configSvn, er.configsvn);
    assert.equal(isAllZero(r.configId), er.configid_is_zero);
    assert.equal(toHex(r.reportData), er.reportdata);
    const qe = f.qe_report;
    assert.equal(toHex(q.qeReport.cpuSvn), qe.cpusvn);
    assert.equal(q.qeReport.miscSelect, qe.miscselect);
    assert.equal(toHex(q.qeReport.attributesRaw), qe.attributes);
    assert.equal(toHex(q.qeReport.mrEnclave), qe.mrenclave);
    assert.equal(toHex(q.qeReport.mrSigner), qe.mrsigner);
    assert.equal(q.qeReport.isvProdId, qe.isvprodid);
    assert.equal(q.qeReport.isvSvn, qe.isvsvn);
    assert.equal(toHex(q.qeReport.reportData.subarray(0, 32)), qe.reportdata_first32);
    const sd = f.signature_data;
    assert.equal(q.signedData.length, sd.signed_length);
    assert.equal(q.qeAuthData.length, sd.qe_auth_data_len);
    assert.equal(q.certificationData.type, sd.cert_data_type);
    assert.equal(q.certificationData.data.length, sd.cert_data_len);
    if (sd.cert_data_ends_with_nul !== undefined) {
      assert.equal(q.certificationData.data[q.certificationData.data.length - 1] === 0, sd.cert_data_ends_with_nul);
    }
    if (f.pck_chain) {
      const chain = q.certificationData.pckChain!;
      assert.equal(chain.length, f.pck_chain.length);
      f.pck_chain.forEach((ec: { cn: string; serial: string; not_before: string; not_after: string }, i: number) => {
        const cert = parseCertificate(chain[i]);
        const cn = cert.subject.typesAndValues.find((t) => t.type === '2.5.4.3')!.value.valueBlock.value;
        assert.equal(cn, ec.cn);
        assert.equal(toHex(new Uint8Array(cert.serialNumber.valueBlock.valueHexView)).toUpperCase().replace(/^0+/, ''), ec.serial);
        assert.equal(cert.notBefore.value.toISOString().replace('.000', ''), ec.not_before);
        assert.equal(cert.notAfter.value.toISOString().replace('.000', ''), ec.not_after);
      });
    }
    const ep = f.pck_sgx_extensions;
    const pck = quotePckExtensions(q);
    if (ep) {
      assert.ok(pck);
      assert.equal(toHex(pck.ppid), ep.ppid);
      assert.deepEqual(pck.tcbComponents, ep.tcb_components);
      assert.equal(pck.pceSvn, ep.pcesvn);
      assert.equal(toHex(pck.cpuSvn), ep.cpusvn);
      assert.equal(toHex(pck.pceId), ep.pceid);
      assert.equal(toHex(pck.fmspc), ep.fmspc);
      assert.equal(pck.sgxType, ep.sgx_type);
      assert.equal(pck.platformInstanceId ? toHex(pck.platformInstanceId) : null, ep.platform_instance_id);
      if (ep.configuration === null) assert.equal(pck.configuration, null);
      else         assert.deepEqual(pck.configuration, ep.configuration);
    } else {
      assert.equal(pck, null);
    }
    // The JSON view carries the same values.
    const j = quoteToJson(q);
    assert.equal(j.report!.mrEnclave, er.mrenclave);
    assert.equal(j.report!.attributes.flags + j.report!.attributes.xfrm, er.attributes);
    assert.equal(j.trailingBytes, 0);
  });
}

test('KSS flag is decoded from the occlum quote (attributes.flags 0x85)', () => {
  const q = parseQuote(fixtureBytes('dcap/quotes/occlum_v3.bin'));
  assert.equal(q.report!.attributes.kss, true);
  assert.equal(q.report!.attributes.init, true);
  assert.equal(q.report!.attributes.mode64bit, true);
  assert.equal(q.report!.attributes.debug, false);
});

test('appended bytes are reported as trailing, not parsed', () => {
  const b = fixtureBytes('dcap/quotes/phala_hello.bin');
  const q = parseQuote(new Uint8Array([...b, ...new Uint8Array(16)]));
  assert.equal(q.trailingBytes, 16);
});

for (const file of quoteFiles) {
  test(`every truncation of ${file} gives a typed error`, () => {
    const b = fixtureBytes(`dcap/${file}`);
    const full = parseQuote(b);
    for (let n = 0; n < b.length; n++) {
      // Truncations past the declared signature data only lose trailing bytes: they must parse.
      if (n >= full.signedData.length + 4 + full.signatureDataLength) continue;
      assert.throws(() => parseQuote(b.subarray(0, n)), (e: unknown) => {
        assert.ok(e instanceof ConfkubeError, `length ${n}: ${String(e)}`);
        assert.match(e.code, /^ERR_QUOTE_/);
        return true;
      });
    }
  });
}

test('header mutations from the vectors README are rejected as unsupported', () => {
  const b = fixtureBytes('dcap/quotes/phala_hello.bin');
  const set = (off: number, v: number[]) => {
    const c = Uint8Array.from(b);
    c.set(v, off);
    return c;
  };
  for (const [what, bytes] of [
    ['version 4', set(0, [4, 0])],
    ['version 2', set(0, [2, 0])],
    ['key type 3', set(2, [3, 0])],
    ['tee 0x81 in v3', set(4, [0x81, 0, 0, 0])],
    ['cert type 3 turned to 9', set(1014 + 32, [9, 0])],
  ] as const) {
    assert.throws(() => parseQuote(bytes), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_QUOTE_UNSUPPORTED', what);
  }
  assert.throws(() => parseQuote(b.subarray(0, 1000)), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_QUOTE_TRUNCATED');
});

test('a truncation message says what and where', () => {
  const b = fixtureBytes('dcap/quotes/phala_hello.bin');
  assert.throws(() => parseQuote(b.subarray(0, 440)), /offset 432/);
});

test('fast-check: random bytes never throw anything but a typed error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      try {
        parseQuote(bytes);
      } catch (e) {
        if (!(e instanceof ConfkubeError)) throw e;
      }
    }),
    { numRuns: 10_000 },
  );
});

test('fast-check: random mutations of a real quote never throw anything but a typed error', () => {
  const base = fixtureBytes('dcap/quotes/automata_v3.bin');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const b = Uint8Array.from(base);
      for (const [i, v] of edits) b[i] = v;
      try {
        const q = parseQuote(b);
        quoteToJson(q);
      } catch (e) {
        if (!(e instanceof ConfkubeError)) throw e;
      }
    }),
    { numRuns: 10_000 },
  );
});

/** Re-lay a v3 quote as v4 (certification data type 6 nesting the QE report data), structure only. */
function v3ToV4(v3: Uint8Array): Uint8Array {
  const q = parseQuote(v3);
  const inner = Buffer.concat([
    q.qeReport.raw,
    q.qeReportSignature,
    Buffer.from(Uint16Array.of(q.qeAuthData.length).buffer),
    q.qeAuthData,
    Buffer.from(Uint16Array.of(q.certificationData.type).buffer),
    Buffer.from(Uint32Array.of(q.certificationData.data.length).buffer),
    q.certificationData.data,
  ]);
  const sig = Buffer.concat([q.quoteSignature, q.attestationKey, Buffer.from(Uint16Array.of(6).buffer), Buffer.from(Uint32Array.of(inner.length).buffer), inner]);
  const head = Buffer.from(q.signedData);
  head.writeUInt16LE(4, 0);
  return new Uint8Array(Buffer.concat([head, Buffer.from(Uint32Array.of(sig.length).buffer), sig]));
}

test('v4 SGX layout (type 6 nesting) parses to the same fields as v3', () => {
  const v3 = fixtureBytes('dcap/quotes/phala_hello.bin');
  const a = parseQuote(v3);
  const b = parseQuote(v3ToV4(v3));
  assert.equal(b.header.version, 4);
  assert.equal(b.outerCertificationData!.type, 6);
  assert.equal(b.certificationData.type, 5);
  assert.deepEqual(quoteToJson(b).report, quoteToJson(a).report);
  assert.deepEqual(quoteToJson(b).pck, quoteToJson(a).pck);
  assert.equal(toHex(b.qeAuthData), toHex(a.qeAuthData));
  const v4 = v3ToV4(v3);
  for (let n = 0; n < v4.length; n += 7) {
    assert.throws(() => parseQuote(v4.subarray(0, n)), (e: unknown) => e instanceof ConfkubeError);
  }
});
