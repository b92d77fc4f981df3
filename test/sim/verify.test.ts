// Simulated platform → confkube's DCAP verifier (Intel QVL/QvE semantics): every scenario gives the status,
// advisory IDs and flags the platform says it will, and only under the simulated root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collateralFromBundle, collateralFromFiles, Verifier, type Verdict } from '../../src/dcap/index.js';
import { SIM_ROOT_SUBJECT_CN, SIM_TCB_STATUSES } from '../../src/sim/index.js';
import { MRENCLAVE, MRSIGNER, platform } from './helpers.js';

/** One verifier for the file, as the service keeps one: its caches make the many verifications here cheap. */
const verifier = new Verifier();

function check(v: Verdict, p: ReturnType<typeof platform>, label: string): void {
  const e = p.expected;
  assert.equal(v.status, e.status, `${label}: status (errors ${JSON.stringify(v.errors)})`);
  assert.equal(v.platformStatus, e.platformStatus, `${label}: platform status`);
  assert.equal(v.qeStatus, e.qeStatus, `${label}: QE status`);
  assert.deepEqual(v.advisoryIds, e.advisoryIds, `${label}: advisory IDs`);
  assert.deepEqual(v.platformAdvisoryIds, e.platformAdvisoryIds, `${label}: platform advisory IDs`);
  assert.deepEqual(v.qeAdvisoryIds, e.qeAdvisoryIds, `${label}: QE advisory IDs`);
  assert.equal(v.tcbDate, e.tcbDate, `${label}: TCB date`);
  assert.equal(v.collateralExpired, e.collateralExpired, `${label}: collateral expired`);
  assert.equal(v.fmspc, e.fmspc);
  assert.equal(v.pceId, e.pceId);
  assert.equal(v.pckCa, e.pckCa);
  assert.equal(v.tcbInfoVersion, p.options.tcbInfoVersion);
  // Authentic and not revoked ⇔ ok; the only error a revoked PCK leaves is the revocation itself.
  if (e.pckRevoked) {
    assert.equal(v.ok, false, label);
    assert.deepEqual(
      v.errors.map((x) => x.code),
      ['ERR_PCK_REVOKED'],
      label,
    );
  } else assert.equal(v.ok, true, `${label}: ${JSON.stringify(v.errors)}`);
}

const expectedStatus: Record<string, { status: string; advisories: string[] }> = {
  UpToDate: { status: 'UpToDate', advisories: [] },
  SWHardeningNeeded: { status: 'SWHardeningNeeded', advisories: ['INTEL-SA-00615'] },
  ConfigurationNeeded: { status: 'ConfigurationNeeded', advisories: ['INTEL-SA-00289'] },
  ConfigurationAndSWHardeningNeeded: { status: 'ConfigurationAndSWHardeningNeeded', advisories: ['INTEL-SA-00289', 'INTEL-SA-00615'] },
  OutOfDate: { status: 'OutOfDate', advisories: ['INTEL-SA-00615', 'INTEL-SA-00828'] },
  OutOfDateConfigurationNeeded: { status: 'OutOfDateConfigurationNeeded', advisories: ['INTEL-SA-00289', 'INTEL-SA-00615', 'INTEL-SA-00828'] },
  Revoked: { status: 'Revoked', advisories: [] },
};

test('every scenario, both PCK CAs, quote v3 and v4: verifyQuote returns the intended status and advisories', () => {
  let n = 0;
  for (const status of SIM_TCB_STATUSES) {
    for (const caType of ['processor', 'platform'] as const) {
      const p = platform({ status, caType });
      // Stated independently of the platform's own `expected`, so a wrong table cannot agree with itself.
      assert.equal(p.expected.status, expectedStatus[status].status);
      assert.deepEqual(p.expected.advisoryIds, expectedStatus[status].advisories);
      for (const version of [3, 4] as const) {
        const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, version });
        const v = verifier.verify(q, p.collateralInput(), { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] });
        check(v, p, `${status}/${caType}/v${version}`);
        assert.equal(v.quote?.header.version, version);
        n++;
      }
    }
  }
  assert.equal(n, 28);
});

test('QE out of date converges with the platform status as Intel QVL does', () => {
  const table: Record<string, string> = {
    UpToDate: 'OutOfDate',
    SWHardeningNeeded: 'OutOfDate',
    ConfigurationNeeded: 'OutOfDateConfigurationNeeded',
    ConfigurationAndSWHardeningNeeded: 'OutOfDateConfigurationNeeded',
    OutOfDate: 'OutOfDate',
    OutOfDateConfigurationNeeded: 'OutOfDateConfigurationNeeded',
    Revoked: 'Revoked',
  };
  for (const status of SIM_TCB_STATUSES) {
    const p = platform({ status, qeOutOfDate: true });
    assert.equal(p.expected.status, table[status], status);
    assert.equal(p.expected.qeStatus, 'OutOfDate');
    assert.ok(p.expected.advisoryIds.includes('INTEL-SA-00615'), 'the QE level advisory is in the union');
    const v = verifier.verify(p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER }), p.collateralInput(), { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] });
    check(v, p, `qeOutOfDate/${status}`);
    assert.equal(v.qeReport?.isvSvn, 6);
  }
});

test('TCB Info v2: same statuses, no platform advisory IDs (v2 has none)', () => {
  for (const status of ['UpToDate', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate'] as const) {
    const p = platform({ status, tcbInfoVersion: 2 });
    assert.deepEqual(p.expected.platformAdvisoryIds, []);
    const text = new TextDecoder().decode(p.collateral.tcbInfo);
    assert.match(text, /^\{"tcbInfo":\{"version":2,/);
    assert.match(text, /"sgxtcbcomp01svn":/);
    assert.doesNotMatch(text, /advisoryIDs|"id":/);
    const v = verifier.verify(p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER }), p.collateralInput(), { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] });
    check(v, p, `v2/${status}`);
    assert.equal(v.tcbInfoVersion, 2);
  }
});

test('expired and not-yet-valid collateral: the status still stands, flagged; strict verification rejects', () => {
  for (const collateral of ['expired', 'not-yet-valid'] as const) {
    const p = platform({ status: 'SWHardeningNeeded', collateral });
    const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
    const opts = { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] };
    const v = verifier.verify(q, p.collateralInput(), opts);
    check(v, p, collateral);
    assert.equal(v.collateralExpired, true);
    assert.ok(v.collateralExpiredReasons.length > 0);
    assert.ok(v.warnings.some((w) => w.code === (collateral === 'expired' ? 'ERR_COLLATERAL_EXPIRED' : 'ERR_COLLATERAL_NOT_YET_VALID')), JSON.stringify(v.warnings));
    const strict = verifier.verify(q, p.collateralInput(), { ...opts, strict: true });
    assert.equal(strict.ok, false);
  }
  // The same platform with valid collateral is not flagged (the flag is the scenario, not the time).
  const ok = platform({ status: 'SWHardeningNeeded' });
  const v = verifier.verify(ok.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER }), ok.collateralInput(), { now: ok.expected.verificationTime, trustAnchors: [ok.rootCertDer], strict: true });
  assert.equal(v.ok, true);
  assert.equal(v.collateralExpired, false);
  // Valid for 30 days from issuedAt, as PCS serves TCB Info.
  const late = verifier.verify(ok.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER }), ok.collateralInput(), { now: new Date(ok.options.issuedAt.getTime() + 31 * 86_400_000), trustAnchors: [ok.rootCertDer] });
  assert.equal(late.collateralExpired, true);
});

test("trust boundary: with Intel's root (the default) a simulated quote is rejected with ERR_UNTRUSTED_ROOT naming the simulated root", () => {
  const p = platform();
  const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
  const v = verifier.verify(q, p.collateralInput(), { now: p.expected.verificationTime });
  assert.equal(v.ok, false);
  assert.equal(v.status, null);
  assert.equal(v.errors[0].code, 'ERR_UNTRUSTED_ROOT');
  assert.ok(v.errors[0].message.includes(SIM_ROOT_SUBJECT_CN), v.errors[0].message);
  assert.ok(SIM_ROOT_SUBJECT_CN.includes('NOT INTEL'));
  // A different simulated platform's root is no more trusted than Intel's.
  const other = platform({ seed: 'another platform' });
  const w = verifier.verify(q, p.collateralInput(), { now: p.expected.verificationTime, trustAnchors: [other.rootCertDer] });
  assert.equal(w.ok, false);
  assert.equal(w.errors[0].code, 'ERR_UNTRUSTED_ROOT');
  // A quote from one simulated platform does not verify against another's collateral, even trusting both roots.
  const x = verifier.verify(q, other.collateralInput(), { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer, other.rootCertDer] });
  assert.equal(x.ok, false);
});

test('the collateral directory files and the dcap-qvl bundle are read by content and verify the same', () => {
  for (const caType of ['processor', 'platform'] as const) {
    const p = platform({ status: 'ConfigurationNeeded', caType });
    const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
    const opts = { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] };
    const files = collateralFromFiles(p.collateralFiles());
    assert.ok(files.rootCaCrl, 'the root CA CRL is recognised as such');
    assert.equal(files.pckCrls.length, 2);
    check(verifier.verify(q, files, opts), p, `files/${caType}`);
    check(verifier.verify(q, collateralFromBundle(JSON.stringify(p.bundle())), opts), p, `bundle/${caType}`);
  }
});

test('a tampered simulated quote is rejected (the verifier really checks the simulated signatures)', () => {
  const p = platform();
  const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
  const opts = { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] };
  const cases: [number, string][] = [
    [112, 'ERR_QUOTE_SIGNATURE'], // MRENCLAVE
    [436, 'ERR_QUOTE_SIGNATURE'], // quote signature
    [600, 'ERR_QE_REPORT_SIGNATURE'], // QE report
    [1014, 'ERR_QE_REPORT_DATA'], // QE auth data
  ];
  for (const [off, code] of cases) {
    const t = Uint8Array.from(q);
    t[off] ^= 1;
    const v = verifier.verify(t, p.collateralInput(), opts);
    assert.equal(v.ok, false, `offset ${off}`);
    assert.ok(v.errors.some((e) => e.code === code), `offset ${off}: ${JSON.stringify(v.errors)}`);
  }
});
