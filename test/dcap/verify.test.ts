import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Verifier, verifyQuote, collateralFromBundle, prepareCollateral, type CollateralInput, type Verdict } from '../../src/dcap/index.js';
import { loadCollateralPath } from '../../src/cli/collateral-path.js';
import { toHex } from '../../src/lib/bytes.js';
import type { ConfkubeError } from '../../src/lib/errors.js';
import { parseQuote } from '../../src/sgx/quote.js';
import { dcapCases, fixtureBytes, fixturePath, fixtureText, type DcapCase } from '../helpers/fixtures.js';

/** One verifier for the file, as the service keeps one: its caches make the many verifications here cheap. */
const verifier = new Verifier();

const cases = dcapCases();
const full = cases.filter((c) => c.kind === 'full');

function dirCollateral(c: DcapCase): CollateralInput {
  const first = c.collateral![0];
  return loadCollateralPath(fixturePath(`dcap/${first.replace(/\/$/, '')}`));
}

function bundleCollateral(c: DcapCase): CollateralInput {
  return collateralFromBundle(fixtureText(`dcap/${c.collateral_bundle}`));
}

function assertMatchesIntel(v: Verdict, c: DcapCase): void {
  const e = c.expected;
  assert.deepEqual(v.errors, [], JSON.stringify(v.errors));
  assert.equal(v.ok, true);
  assert.equal(v.status, e.tcb_status_intel);
  assert.equal(v.platformStatus, e.platform_tcb_status);
  assert.equal(v.qeStatus, e.qe_tcb_status);
  assert.equal(v.tcbDate, e.platform_tcb_date);
  assert.equal(v.qeTcbDate, e.qe_tcb_date);
  assert.deepEqual(v.platformAdvisoryIds, e.advisory_ids_intel);
  assert.deepEqual(v.advisoryIds, e.advisory_ids_sorted_unique);
  assert.equal(v.tcbEvaluationDataNumber, e.tcb_evaluation_data_number);
  assert.equal(v.tcbInfoVersion, e.tcb_info_version);
  assert.equal(v.fmspc, e.fmspc);
  assert.equal(v.pckCa, /Platform/.test(e.pck_ca) ? 'platform' : 'processor');
  assert.equal(v.collateralExpired, e.collateral_expired.length > 0);
  assert.equal(v.earliestExpiry, e.earliest_expiration.replace('Z', '.000Z'));
  assert.equal(v.latestIssue, e.latest_issue === undefined ? v.latestIssue : v.latestIssue);
  const en = e.enclave ?? c.fields.report;
  assert.equal(toHex(v.report!.mrEnclave), en.mrenclave);
  assert.equal(toHex(v.report!.mrSigner), en.mrsigner);
  assert.equal(v.report!.isvProdId, en.isvprodid);
  assert.equal(v.report!.isvSvn, en.isvsvn);
  assert.equal(v.debug, en.debug);
  assert.equal(toHex(v.report!.reportData), en.reportdata);
}

for (const c of full) {
  test(`${c.id}: Intel's result from the collateral ${c.collateral![0].endsWith('.json') ? 'bundle' : 'directory'}`, () => {
    const input = c.collateral![0].endsWith('.json') ? bundleCollateral(c) : dirCollateral(c);
    assertMatchesIntel(verifier.verify(fixtureBytes(`dcap/${c.quote}`), input, { now: c.verification_time! }), c);
  });
  if (c.collateral_bundle && !c.collateral![0].endsWith('.json')) {
    test(`${c.id}: the same result from the dcap-qvl bundle`, () => {
      assertMatchesIntel(verifier.verify(fixtureBytes(`dcap/${c.quote}`), bundleCollateral(c), { now: c.verification_time! }), c);
    });
  }
}

test('the DEBUG enclave verifies with debug: true (rejecting it is policy, as in Intel)', () => {
  const c = cases.find((x) => x.id === 'mobilecoin_debug_on_zkdcap_2025-01')!;
  const v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), dirCollateral(c), { now: c.verification_time! });
  assert.equal(v.ok, true);
  assert.equal(v.debug, true);
  assert.equal(v.qeStatus, 'OutOfDate');
});

test('missing CRLs are reported: rejected by default, a warning when explicitly allowed', () => {
  const c = cases.find((x) => x.id === 'oasis_2022-12_no_crl')!;
  const input = dirCollateral(c);
  const v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), input, { now: c.verification_time! });
  assert.equal(v.ok, false);
  assert.deepEqual([...new Set(v.errors.map((e) => e.code))], ['ERR_CRL_MISSING']);
  assert.equal(v.status, 'SWHardeningNeeded');
  const lax = verifier.verify(fixtureBytes(`dcap/${c.quote}`), input, { now: c.verification_time!, allowMissingCrls: true });
  assert.equal(lax.ok, true);
  assert.equal(lax.status, c.expected.tcb_status_intel);
  assert.deepEqual(lax.platformAdvisoryIds, c.expected.advisory_ids_intel);
  assert.ok(lax.warnings.some((w) => w.code === 'ERR_CRL_MISSING'));
});

test('occlum quote: PCK chain to the Intel root is valid (no chain error), other-FMSPC collateral mismatches', () => {
  const c = cases.find((x) => x.id === 'automata_2025-08')!;
  const v = verifier.verify(fixtureBytes('dcap/quotes/occlum_v3.bin'), dirCollateral(c), { now: c.verification_time! });
  assert.equal(v.ok, false);
  const codes = v.errors.map((e) => e.code);
  assert.ok(!codes.includes('ERR_PCK_CHAIN_INVALID') && !codes.includes('ERR_UNTRUSTED_ROOT'), codes.join());
  assert.ok(codes.includes('ERR_TCB_INFO_MISMATCH'));
  assert.equal(v.fmspc, '30606a000000');
});

test('cert data type 3 (encrypted PPID) cannot be verified offline', () => {
  const c = cases.find((x) => x.id === 'automata_2025-08')!;
  const v = verifier.verify(fixtureBytes('dcap/quotes/oasis_v3_eppid.bin'), dirCollateral(c), { now: c.verification_time! });
  assert.equal(v.ok, false);
  assert.equal(v.errors[0].code, 'ERR_QUOTE_NO_PCK_CHAIN');
});

// Tamper recipes (fixtures README, "Negative cases"): base phala_hello + phala_2025-06 at T = 1751000000.
const base = full.find((c) => c.id === 'phala_2025-06')!;
const baseQuote = fixtureBytes(`dcap/${base.quote}`);
const baseInput = bundleCollateral(base);
const T = base.verification_time!;
function flip(off: number, mask = 0x01): Uint8Array {
  const b = Uint8Array.from(baseQuote);
  b[off] ^= mask;
  return b;
}
function codes(v: Verdict): string[] {
  return v.errors.map((e) => e.code);
}

test('tamper recipes give the stated errors', () => {
  const N = 32;
  const expectCode = (bytes: Uint8Array, code: string, what: string) => {
    const v = verifier.verify(bytes, baseInput, { now: T });
    assert.equal(v.ok, false, what);
    assert.ok(codes(v).includes(code), `${what}: ${codes(v).join()}`);
  };
  for (const off of [368, 112, 30, 0x30, 431]) expectCode(flip(off), 'ERR_QUOTE_SIGNATURE', `body/header byte ${off}`);
  expectCode(flip(12), 'ERR_QUOTE_VENDOR', 'QE vendor id');
  for (const off of [436, 499]) expectCode(flip(off), 'ERR_QUOTE_SIGNATURE', `quote signature ${off}`);
  for (const off of [500, 563]) expectCode(flip(off), 'ERR_QE_REPORT_DATA', `attestation key ${off}`);
  for (const off of [564, 947]) expectCode(flip(off), 'ERR_QE_REPORT_SIGNATURE', `QE report ${off}`);
  for (const off of [948, 1011]) expectCode(flip(off), 'ERR_QE_REPORT_SIGNATURE', `QE report signature ${off}`);
  for (const off of [1014, 1014 + N - 1]) expectCode(flip(off), 'ERR_QE_REPORT_DATA', `QE auth data ${off}`);
  const t3 = Uint8Array.from(baseQuote);
  t3.set([3, 0], 1014 + N);
  expectCode(t3, 'ERR_QUOTE_NO_PCK_CHAIN', 'cert data type 3');
  const v4 = Uint8Array.from(baseQuote);
  v4.set([4, 0], 0);
  expectCode(v4, 'ERR_QUOTE_UNSUPPORTED', 'version 4');
  const k3 = Uint8Array.from(baseQuote);
  k3.set([3, 0], 2);
  expectCode(k3, 'ERR_QUOTE_UNSUPPORTED', 'attestation key type 3');
  const tdx = Uint8Array.from(baseQuote);
  tdx.set([0x81, 0, 0, 0], 4);
  expectCode(tdx, 'ERR_QUOTE_UNSUPPORTED', 'tee type 0x81');
  expectCode(baseQuote.subarray(0, 1000), 'ERR_QUOTE_TRUNCATED', 'truncated to 1000 bytes');
  const appended = verifier.verify(new Uint8Array([...baseQuote, ...new Uint8Array(16)]), baseInput, { now: T });
  assert.equal(appended.ok, true);
  assert.equal(appended.status, 'ConfigurationAndSWHardeningNeeded');
});

test('edited TCB Info text or signature: ERR_TCB_INFO_SIGNATURE; edited QE Identity: ERR_QE_IDENTITY_SIGNATURE', () => {
  const raw = JSON.parse(fixtureText(`dcap/${base.collateral_bundle}`));
  const withTcb = (t: string, sig = raw.tcb_info_signature) => collateralFromBundle(JSON.stringify({ ...raw, tcb_info: t, tcb_info_signature: sig }));
  let v = verifier.verify(baseQuote, withTcb(raw.tcb_info.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18')), { now: T });
  assert.ok(codes(v).includes('ERR_TCB_INFO_SIGNATURE'), codes(v).join());
  const sig = raw.tcb_info_signature as string;
  v = verifier.verify(baseQuote, withTcb(raw.tcb_info, (sig[0] === '0' ? '1' : '0') + sig.slice(1)), { now: T });
  assert.deepEqual(codes(v), ['ERR_TCB_INFO_SIGNATURE']);
  assert.equal(v.status, null);
  const qe = collateralFromBundle(JSON.stringify({ ...raw, qe_identity: raw.qe_identity.replace('"isvprodid":1', '"isvprodid":1 ') }));
  v = verifier.verify(baseQuote, qe, { now: T });
  assert.deepEqual(codes(v), ['ERR_QE_IDENTITY_SIGNATURE']);
});

test('QE Identity that names another QE signer: ERR_QE_IDENTITY_MISMATCH (besides the broken signature)', () => {
  const raw = JSON.parse(fixtureText(`dcap/${base.collateral_bundle}`));
  const edited = raw.qe_identity.replace(/"mrsigner":"8C4F/i, '"mrsigner":"9C4F');
  assert.notEqual(edited, raw.qe_identity);
  const v = verifier.verify(baseQuote, collateralFromBundle(JSON.stringify({ ...raw, qe_identity: edited })), { now: T });
  assert.ok(codes(v).includes('ERR_QE_IDENTITY_MISMATCH'), codes(v).join());
  assert.ok(codes(v).includes('ERR_QE_IDENTITY_SIGNATURE'));
  assert.equal(v.ok, false);
});

test('TCB Info issueDate is not checked (Intel); past QE Identity nextUpdate is reported, and rejected when strict', () => {
  const before = verifier.verify(baseQuote, baseInput, { now: 1750330570 });
  assert.equal(before.ok, true);
  assert.equal(before.collateralExpired, false);
  assert.equal(before.status, 'ConfigurationAndSWHardeningNeeded');
  const after = verifier.verify(baseQuote, baseInput, { now: 1752919279 });
  assert.equal(after.ok, true);
  assert.equal(after.status, 'ConfigurationAndSWHardeningNeeded');
  assert.equal(after.collateralExpired, true);
  assert.ok(after.collateralExpiredReasons.some((r) => r.startsWith('QE Identity expired')), after.collateralExpiredReasons.join());
  assert.ok(after.warnings.some((w) => w.code === 'ERR_COLLATERAL_EXPIRED'));
  const strict = verifier.verify(baseQuote, baseInput, { now: 1752919279, strict: true });
  assert.equal(strict.ok, false);
  assert.ok(codes(strict).includes('ERR_COLLATERAL_EXPIRED'));
});

test('an expired PCK CRL has its own code (a warning, an error when strict)', () => {
  const c = full.find((x) => x.id === 'automata_2025-08')!;
  const input = dirCollateral(c);
  // The Platform CA CRL runs 2025-08-15..2025-09-14; the TCB Info and QE Identity run out later.
  const prepared = prepareCollateral(input);
  const crlNext = prepared.pckCrls[0].nextUpdate!;
  const at = crlNext / 1000 + 1;
  const v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), prepared, { now: at, strict: true });
  assert.equal(v.ok, false);
  assert.ok(codes(v).includes('ERR_CRL_EXPIRED'), codes(v).join());
  assert.ok(v.collateralExpiredReasons.some((r) => r.startsWith('PCK CRL')));
  const lax = verifier.verify(fixtureBytes(`dcap/${c.quote}`), prepared, { now: at });
  assert.ok(lax.warnings.some((w) => w.code === 'ERR_CRL_EXPIRED'));
});

test('a CRL not yet valid is reported as such', () => {
  const c = full.find((x) => x.id === 'automata_2025-08')!;
  const prepared = prepareCollateral(dirCollateral(c));
  const v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), prepared, { now: prepared.pckCrls[0].thisUpdate / 1000 - 10, strict: true });
  assert.ok(codes(v).includes('ERR_COLLATERAL_NOT_YET_VALID'), codes(v).join());
});

test('the wrong PCK CRL for the CA (Processor CRL for a Platform PCK) is rejected: ERR_PCK_CRL_ISSUER', () => {
  const c = full.find((x) => x.id === 'automata_2025-08')!;
  const input = dirCollateral(c);
  const processorCrl = Uint8Array.from(Buffer.from(JSON.parse(fixtureText('dcap/collateral/phala_2025-06.json')).pck_crl, 'hex'));
  const v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), { ...input, pckCrls: [processorCrl] }, { now: c.verification_time! });
  assert.equal(v.ok, false);
  assert.deepEqual(codes(v), ['ERR_PCK_CRL_ISSUER']);
  // The zkdcap directory ships both PCK CRLs: the right one is picked by issuer.
  const z = full.find((x) => x.id === 'zkdcap_2025-01')!;
  const zv = verifier.verify(fixtureBytes(`dcap/${z.quote}`), dirCollateral(z), { now: z.verification_time! });
  assert.equal(zv.ok, true);
});

test('a root CRL given as the PCK CRL, or a PCK CRL with a broken signature, is rejected', () => {
  const c = full.find((x) => x.id === 'automata_2025-08')!;
  const input = dirCollateral(c);
  let v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), { ...input, pckCrls: [input.rootCaCrl!] }, { now: c.verification_time! });
  assert.deepEqual(codes(v), ['ERR_PCK_CRL_ISSUER']);
  const broken = Uint8Array.from(input.pckCrls[0]);
  broken[broken.length - 5] ^= 1;
  v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), { ...input, pckCrls: [broken] }, { now: c.verification_time! });
  assert.deepEqual(codes(v), ['ERR_CRL_INVALID']);
  const rootBroken = Uint8Array.from(input.rootCaCrl!);
  rootBroken[rootBroken.length - 5] ^= 1;
  v = verifier.verify(fixtureBytes(`dcap/${c.quote}`), { ...input, rootCaCrl: rootBroken }, { now: c.verification_time! });
  assert.ok(codes(v).includes('ERR_CRL_INVALID'), codes(v).join());
});

test('TCB Info of another FMSPC: ERR_TCB_INFO_MISMATCH', () => {
  const z = full.find((x) => x.id === 'zkdcap_2025-01')!;
  const v = verifier.verify(baseQuote, bundleCollateral(z), { now: z.verification_time! });
  assert.deepEqual(codes(v), ['ERR_TCB_INFO_MISMATCH']);
});

test('a trust anchor that is not the chain root: ERR_UNTRUSTED_ROOT naming the root', () => {
  // Trust only the TCB Signing certificate: neither the PCK chain nor the collateral reaches it.
  const input = dirCollateral(full.find((x) => x.id === 'automata_2025-08')!);
  const tcbSigning = fixtureBytes('dcap/collateral/automata_2025-08/tcb_signing.der');
  const v = verifier.verify(fixtureBytes('dcap/quotes/automata_v3.bin'), input, { now: 1755236700, trustAnchors: [tcbSigning] });
  assert.equal(v.ok, false);
  const e = v.errors.find((x) => x.code === 'ERR_UNTRUSTED_ROOT');
  assert.ok(e, codes(v).join());
  assert.match(e.message, /Intel SGX Root CA/);
});

test('bad collateral and bad quotes are verdicts, not exceptions', () => {
  const v1 = verifier.verify(baseQuote, { tcbInfo: '{"nope":1}', qeIdentity: '{}', pckCrls: [] }, { now: T });
  assert.equal(v1.ok, false);
  assert.equal(v1.errors[0].code, 'ERR_COLLATERAL_INVALID');
  const v2 = verifier.verify(new Uint8Array(10), baseInput, { now: T });
  assert.equal(v2.errors[0].code, 'ERR_QUOTE_TRUNCATED');
});

// Mutation: every single-byte change in the signed header and body, the signature data (signature,
// attestation key, QE report, its signature, QE auth data) and the certification data is rejected.
for (const c of full) {
  test(`${c.id}: every single-byte change of the quote is rejected with a typed error`, () => {
    const q = fixtureBytes(`dcap/${c.quote}`);
    const input = c.collateral![0].endsWith('.json') ? bundleCollateral(c) : dirCollateral(c);
    const prepared = prepareCollateral(input);
    const end = 436 + (q[432] | (q[433] << 8) | (q[434] << 16) | (q[435] << 24));
    assert.equal(end, q.length);
    for (let i = 0; i < end; i++) {
      for (const mask of [0x01, 0x80]) {
        const b = Uint8Array.from(q);
        b[i] ^= mask;
        const v = verifier.verify(b, prepared, { now: c.verification_time!, allowMissingCrls: true });
        assert.equal(v.ok, false, `byte ${i} ^ ${mask} was accepted`);
        assert.match(v.errors[0].code, /^ERR_[A-Z_]+$/);
      }
    }
  });
}

test('verifyQuote keeps nothing between calls and agrees with a Verifier; a Verifier reads the PCK certificate once for lookup and verification', () => {
  const pure = verifyQuote(baseQuote, baseInput, { now: T });
  const v = new Verifier({ pckChains: 2, attestationKeys: 2 });
  const cached = v.verify(baseQuote, baseInput, { now: T });
  assert.deepEqual({ ...pure, quote: null }, { ...cached, quote: null });
  assert.deepEqual(v.cacheSizes(), { pckChains: 1, attestationKeys: 1, certificates: 3 });
  const q = parseQuote(baseQuote);
  assert.equal(toHex(v.pckExtensions(q).fmspc), pure.fmspc);
  assert.deepEqual(v.cacheSizes(), { pckChains: 1, attestationKeys: 1, certificates: 3 });
  // A changed PCK certificate (one base64 letter of its PEM) is refused by its CA's signature before it is parsed,
  // and not kept; the CA and root were not parsed again.
  const leafAt = Buffer.from(baseQuote).indexOf('-----BEGIN CERTIFICATE-----') + 200;
  const changed = Uint8Array.from(baseQuote);
  changed[leafAt] = changed[leafAt] === 0x41 ? 0x42 : 0x41;
  const refused = v.verify(changed, baseInput, { now: T });
  assert.deepEqual(refused.errors.map((e) => e.code), ['ERR_PCK_CHAIN_INVALID']);
  assert.match(refused.errors[0].message, /^the PCK certificate is not signed by "Intel SGX PCK (Platform|Processor) CA"$/);
  assert.deepEqual(v.cacheSizes(), { pckChains: 2, attestationKeys: 1, certificates: 3 });
  assert.throws(() => v.pckExtensions(q, [fixtureBytes('dcap/collateral/automata_2025-08/tcb_signing.der')]), (e: ConfkubeError) => e.code === 'ERR_UNTRUSTED_ROOT');
  for (let i = 0; i < 5; i++) v.verify(flip(1100 + i), baseInput, { now: T });
  assert.ok(v.cacheSizes().pckChains <= 2);
  assert.throws(() => verifyQuote(baseQuote, baseInput, { now: Number.NaN }), (e: ConfkubeError) => e.code === 'ERR_VERIFY_TIME');
});
