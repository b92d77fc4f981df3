import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { decodeAttributes } from '../../src/sgx/attributes.js';
import { findSigstructs } from '../../src/sgx/enclave-file.js';
import { parseSigstruct, sigstructToJson, verifySigstruct, SIGSTRUCT_HEADER, SIGSTRUCT_HEADER2 } from '../../src/sgx/sigstruct.js';
import { toHex } from '../../src/lib/bytes.js';
import { ConfkubeError } from '../../src/lib/errors.js';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.js';

type Expected = Record<string, string | number | boolean>;
const expected = JSON.parse(fixtureText('sigstruct/expected.json')) as Record<string, Expected>;
const signedFiles = Object.keys(expected).filter((f) => !f.endsWith('.sgxs'));
const rawFiles = signedFiles.filter((f) => !f.endsWith('.so'));
const LE_225 = 'sigstruct/intel-le-prod-css_sgx-2.25.bin';

function isTyped(e: unknown): boolean {
  return e instanceof ConfkubeError && typeof e.code === 'string' && e.code.startsWith('ERR_');
}

/** Runs fn; returns normally or throws only a ConfkubeError. Anything else fails the property. */
function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isTyped(e)) throw e;
  }
}

test('the vectors are the files their README names', () => {
  assert.equal(signedFiles.length, 4);
  for (const file of Object.keys(expected)) {
    const e = expected[file];
    const sha = (e.sha256_of_file ?? e.sha256_of_file_equals_mrenclave) as string;
    assert.equal(createHash('sha256').update(fixtureBytes(`sigstruct/${file}`)).digest('hex'), sha, file);
  }
});

for (const file of signedFiles) {
  test(`${file}: every value in expected.json`, () => {
    const e = expected[file];
    const found = findSigstructs(fixtureBytes(`sigstruct/${file}`));
    assert.equal(found.length, 1);
    const f = found[0];
    assert.equal(f.offset, e.sigstruct_file_offset);
    assert.equal(f.source, file.endsWith('.so') ? 'sgx-sdk' : 'sigstruct');
    const s = f.sigstruct;
    const j = sigstructToJson(s);
    assert.equal(j.mrSigner, e.mrsigner);
    assert.equal(toHex(createHash('sha256').update(s.modulus).digest()), e.mrsigner, 'MRSIGNER is sha256 of the modulus as stored');
    assert.equal(j.mrEnclave, e.mrenclave_enclavehash);
    assert.equal(s.isvProdId, e.isvprodid);
    assert.equal(s.isvSvn, e.isvsvn);
    assert.equal(j.attributes.flags, e.attributes_flags);
    assert.equal(j.attributes.xfrm, e.attributes_xfrm);
    assert.equal(j.attributeMask.flags, e.attributemask_flags);
    assert.equal(j.attributeMask.xfrm, e.attributemask_xfrm);
    assert.equal(j.miscSelect, e.miscselect);
    assert.equal(j.miscMask, e.miscmask);
    assert.equal(j.vendor, e.vendor);
    assert.equal(j.headerType, e.header_type_bytes12_15);
    assert.equal(s.swDefined, e.swdefined_hwversion);
    assert.equal(s.date, e.date);
    assert.equal(`0x${s.dateRaw.toString(16)}`, e.date_raw_le_u32);
    assert.equal(j.isvFamilyId, e.isvfamilyid);
    assert.equal(j.isvExtProdId, e.isvextprodid);
    assert.equal(s.exponent, e.exponent);
    assert.equal(s.modulus.length, 384);
    assert.equal(s.signature.length, 384);
    const v = verifySigstruct(s);
    assert.equal(v.signatureValid, e.signature_valid_rsa3072_pkcs1v15_sha256);
    assert.equal(v.q1q2Valid, e.q1_q2_valid);
    assert.equal(v.reason, undefined);
  });
}

test('attributes, debugAllowed and releaseType of the vectors', () => {
  const le = parseSigstruct(fixtureBytes(LE_225));
  assert.deepEqual(le.attributes.names, ['MODE64BIT', 'EINITTOKENKEY']);
  assert.equal(le.attributes.einitTokenKey, true);
  assert.equal(le.attributes.debug, false);
  // The LE mask enforces DEBUG (bit 1 set) and DEBUG is clear: it can only be launched as production.
  assert.equal(le.debugAllowed, false);
  assert.equal(le.releaseType, 'release');
  const qe = findSigstructs(fixtureBytes('sigstruct/intel-tdqe_tdx-1.5.signed.so'))[0].sigstruct;
  assert.deepEqual(qe.attributes.names, ['MODE64BIT', 'PROVISIONKEY']);
  assert.equal(qe.debugAllowed, false);
  assert.equal(qe.releaseType, 'release');
  // The SDK default mask 0xfffffffffffffffd leaves DEBUG free (docs/sgx.md §SIGSTRUCT).
  const ftx = parseSigstruct(fixtureBytes('sigstruct/fortanix-test_enclave.sig'));
  assert.equal(ftx.attributes.debug, false);
  assert.equal(ftx.debugAllowed, true);
  // Launchable as DEBUG, yet signed as a release: the two are independent.
  assert.equal(ftx.releaseType, 'release');
});

test('releaseType comes from HEADER type bit 31 alone, debugAllowed from ATTRIBUTES/ATTRIBUTEMASK alone', () => {
  const raw = fixtureBytes(LE_225);
  const withType = (type: number) => {
    const b = Buffer.from(raw);
    b.writeUInt32LE(type, 12);
    return parseSigstruct(new Uint8Array(b));
  };
  const debugType = withType(0x8000_0000);
  assert.equal(debugType.releaseType, 'debug');
  assert.equal(debugType.debugAllowed, false);
  assert.equal(sigstructToJson(debugType).releaseType, 'debug');
  assert.equal(sigstructToJson(debugType).headerType, '0x80000000');
  assert.equal(withType(0).releaseType, 'release');
  assert.equal(withType(0x7fff_ffff).releaseType, 'release');
});

test('debugAllowed: DEBUG set, or DEBUG not enforced by the mask', () => {
  const raw = fixtureBytes(LE_225);
  const withFlags = (flags: number, mask: bigint) => {
    const b = Buffer.from(raw);
    b[928] = flags;
    b.writeBigUInt64LE(mask, 944);
    return parseSigstruct(new Uint8Array(b));
  };
  assert.equal(withFlags(0x04, 0xffffffffffffffffn).debugAllowed, false);
  assert.equal(withFlags(0x06, 0xffffffffffffffffn).debugAllowed, true);
  assert.equal(withFlags(0x04, 0xfffffffffffffffdn).debugAllowed, true);
  assert.equal(withFlags(0x06, 0xfffffffffffffffdn).debugAllowed, true);
});

test('decodeAttributes names every bit Intel defines, and no reserved one', () => {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(0x4b7n, 0);
  b.writeBigUInt64LE(0xe7n, 8);
  const a = decodeAttributes(new Uint8Array(b));
  assert.equal(a.flags, 0x4b7n);
  assert.equal(a.xfrm, 0xe7n);
  assert.deepEqual(a.names, ['INIT', 'DEBUG', 'MODE64BIT', 'PROVISIONKEY', 'EINITTOKENKEY', 'KSS', 'AEXNOTIFY']);
  assert.ok(a.init && a.debug && a.mode64bit && a.provisionKey && a.einitTokenKey && a.kss && a.aexNotify);
  const reserved = decodeAttributes(Uint8Array.from([0x48, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0]));
  assert.deepEqual(reserved.names, []);
  assert.equal(reserved.flags, 0x8000000000000048n);
});

test('every single-bit change in the signed bytes [0,128) ‖ [900,1028) fails the signature', () => {
  for (const file of rawFiles) {
    const raw = fixtureBytes(`sigstruct/${file}`);
    for (const off of [...Array(128).keys(), ...Array.from({ length: 128 }, (_, i) => 900 + i)]) {
      const b = Uint8Array.from(raw);
      b[off] ^= 1 << (off % 8);
      let s;
      try {
        s = parseSigstruct(b);
      } catch (e) {
        // The fixed HEADER/HEADER2 bytes are checked by the parser itself.
        assert.ok((off < 12 || (off >= 24 && off < 40)) && isTyped(e), `${file} byte ${off}: ${String(e)}`);
        continue;
      }
      const v = verifySigstruct(s);
      assert.equal(v.signatureValid, false, `${file} byte ${off}`);
      assert.equal(v.q1q2Valid, true, `${file} byte ${off}: Q1/Q2 depend only on the signature and modulus`);
    }
  }
});

test('the unsigned bytes: modulus, signature, Q1/Q2, exponent, and the reserved [1028,1040)', () => {
  const raw = fixtureBytes(LE_225);
  const e = expected['intel-le-prod-css_sgx-2.25.bin'];
  const flip = (off: number) => {
    const b = Uint8Array.from(raw);
    b[off] ^= 1;
    return parseSigstruct(b);
  };
  for (const off of [128, 200, 511]) {
    const s = flip(off);
    assert.notEqual(toHex(s.mrSigner), e.mrsigner, `modulus byte ${off} changes MRSIGNER`);
    assert.equal(verifySigstruct(s).signatureValid, false);
  }
  for (const off of [516, 700, 899]) {
    const v = verifySigstruct(flip(off));
    assert.equal(v.signatureValid, false, `signature byte ${off}`);
    assert.equal(v.q1q2Valid, false);
    assert.match(v.reason!, /RSA signature/);
  }
  for (const off of [1040, 1500, 1807]) {
    const v = verifySigstruct(flip(off));
    assert.equal(v.signatureValid, true);
    assert.equal(v.q1q2Valid, false, `Q byte ${off}`);
    assert.match(v.reason!, /Q1\/Q2/);
  }
  // Not covered by the signature: changing it leaves the signature valid (and MRSIGNER unchanged).
  const r = flip(1030);
  assert.deepEqual(verifySigstruct(r), { signatureValid: true, q1q2Valid: true });
  assert.equal(toHex(r.mrSigner), e.mrsigner);
  const ex = Buffer.from(raw);
  ex.writeUInt32LE(65537, 512);
  const v = verifySigstruct(parseSigstruct(new Uint8Array(ex)));
  assert.equal(v.signatureValid, false);
  assert.match(v.reason!, /exponent is 65537/);
  const small = Uint8Array.from(raw);
  small[511] = 0;
  assert.match(verifySigstruct(parseSigstruct(small)).reason!, /3072 bits/);
});

test('a SIGSTRUCT inside a larger buffer is parsed in place at its offset, without copying', () => {
  const raw = fixtureBytes(LE_225);
  const big = new Uint8Array(5000);
  big.set(raw, 1234);
  const s = parseSigstruct(big, 1234);
  assert.equal(s.raw.buffer, big.buffer);
  assert.equal(s.raw.byteOffset, 1234);
  assert.equal(toHex(s.mrSigner), expected['intel-le-prod-css_sgx-2.25.bin'].mrsigner);
  assert.equal(verifySigstruct(s).signatureValid, true);
  for (const bad of [-1, 1.5, Number.NaN]) {
    assert.throws(() => parseSigstruct(big, bad), (e: unknown) => isTyped(e) && (e as ConfkubeError).code === 'ERR_SIGSTRUCT_OFFSET');
  }
  assert.throws(() => parseSigstruct(big, 5000 - 1807), (e: unknown) => isTyped(e) && (e as ConfkubeError).code === 'ERR_SIGSTRUCT_TRUNCATED');
});

test('errors say what and where', () => {
  const raw = fixtureBytes(LE_225);
  assert.throws(() => parseSigstruct(raw.subarray(0, 1000)), /SIGSTRUCT.*truncated at offset 0: need 1808 bytes, have 1000/);
  const b = Uint8Array.from(raw);
  b[30] = 0x77;
  assert.throws(() => parseSigstruct(b), (e: unknown) => isTyped(e) && (e as ConfkubeError).code === 'ERR_SIGSTRUCT_HEADER' && /HEADER2 byte 6 at offset 30 is 0x77/.test((e as Error).message));
});

test('truncating every real SIGSTRUCT at every length gives ERR_SIGSTRUCT_TRUNCATED (parser) and a typed error (file reader)', () => {
  for (const file of rawFiles) {
    const b = fixtureBytes(`sigstruct/${file}`);
    for (let n = 0; n < b.length; n++) {
      const cut = b.subarray(0, n);
      assert.throws(() => parseSigstruct(cut), (e: unknown) => isTyped(e) && (e as ConfkubeError).code === 'ERR_SIGSTRUCT_TRUNCATED', `${file} at ${n}`);
      assert.throws(() => findSigstructs(cut), isTyped, `${file} at ${n}`);
    }
  }
});

test('fast-check: parseSigstruct + verifySigstruct on random bytes throw only typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2200 }), fc.nat({ max: 400 }), (b, off) => {
      onlyTyped(() => verifySigstruct(parseSigstruct(b, off)));
    }),
    { numRuns: 10_000 },
  );
});

test('fast-check: random bytes behind valid headers reach every field and the RSA check', () => {
  let parsed = 0;
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1808, maxLength: 1808 }), (b) => {
      b.set(SIGSTRUCT_HEADER, 0);
      b.set(SIGSTRUCT_HEADER2, 24);
      const s = parseSigstruct(b);
      parsed++;
      const v = verifySigstruct(s);
      assert.equal(v.signatureValid, false);
      assert.equal(s.mrSigner.length, 32);
      assert.match(s.date, /^[0-9a-f]{4}-[0-9a-f]{2}-[0-9a-f]{2}$/);
    }),
    { numRuns: 10_000 },
  );
  assert.equal(parsed, 10_000);
});

test('fast-check: truncations of the real SIGSTRUCTs at random lengths and offsets', () => {
  const files = rawFiles.map((f) => fixtureBytes(`sigstruct/${f}`));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: files.length - 1 }), fc.nat({ max: 1807 }), fc.nat({ max: 1807 }), (i, start, len) => {
      const cut = files[i].subarray(start, start + len);
      onlyTyped(() => verifySigstruct(parseSigstruct(cut)));
      onlyTyped(() => findSigstructs(cut));
    }),
    { numRuns: 10_000 },
  );
});
