// An independent verifier, @phala/dcap-qvl 0.3.9 given the simulated root as its trust anchor, accepts the
// simulated formats and agrees on the status (where it departs from Intel, docs/dcap.md §Where verifiers disagree: it
// verifies only v3 SGX quotes, rejects TCB Info v2, and merges QE status by severity — none of which the
// cases below touch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Verifier } from '../../src/dcap/index.js';
import { MRENCLAVE, MRSIGNER, platform } from './helpers.js';

/** One verifier for the file, as the service keeps one: its caches make the many verifications here cheap. */
const verifier = new Verifier();

const require = createRequire(import.meta.url);
const { QuoteVerifier } = require('@phala/dcap-qvl') as {
  QuoteVerifier: { newWithRootCa(der: Buffer): { verify(q: Uint8Array, c: unknown, now: number): { status: string; advisory_ids: string[]; report: { data: { mrEnclave: Uint8Array } } } } };
};

test('dcap-qvl agrees with verifyQuote on UpToDate, SWHardeningNeeded, OutOfDate (both PCK CAs, QE out of date too)', () => {
  let n = 0;
  for (const status of ['UpToDate', 'SWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'] as const) {
    for (const caType of ['processor', 'platform'] as const) {
      for (const qeOutOfDate of [false, true]) {
        const p = platform({ status, caType, qeOutOfDate });
        // Intel and dcap-qvl merge a QE OutOfDate differently only for Configuration* platforms (docs/dcap.md §Where verifiers disagree); skip those.
        if (qeOutOfDate && status === 'OutOfDateConfigurationNeeded') continue;
        const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, reportData: new Uint8Array(64).fill(7) });
        const now = Math.floor(p.expected.verificationTime.getTime() / 1000);
        const theirs = QuoteVerifier.newWithRootCa(Buffer.from(p.rootCertDer)).verify(q, p.bundle(), now);
        const ours = verifier.verify(q, p.collateralInput(), { now, trustAnchors: [p.rootCertDer] });
        assert.equal(theirs.status, p.expected.status, `${status}/${caType}/qe ${qeOutOfDate}`);
        assert.equal(ours.status, theirs.status);
        assert.deepEqual([...theirs.advisory_ids].sort(), p.expected.advisoryIds);
        assert.equal(Buffer.from(theirs.report.data.mrEnclave).toString('hex'), Buffer.from(MRENCLAVE).toString('hex'));
        n++;
      }
    }
  }
  assert.equal(n, 14);
});

test('dcap-qvl also refuses what confkube refuses: the revoked PCK, the wrong root, expired collateral', () => {
  const revoked = platform({ status: 'Revoked' });
  const now = (p: ReturnType<typeof platform>) => Math.floor(p.expected.verificationTime.getTime() / 1000);
  const q = (p: ReturnType<typeof platform>) => p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
  assert.throws(() => QuoteVerifier.newWithRootCa(Buffer.from(revoked.rootCertDer)).verify(q(revoked), revoked.bundle(), now(revoked)), /revoked/i);
  const ok = platform();
  const other = platform({ seed: 'someone else' });
  assert.throws(() => QuoteVerifier.newWithRootCa(Buffer.from(other.rootCertDer)).verify(q(ok), ok.bundle(), now(ok)));
  const expired = platform({ collateral: 'expired' });
  assert.throws(() => QuoteVerifier.newWithRootCa(Buffer.from(expired.rootCertDer)).verify(q(expired), expired.bundle(), now(expired)), /expired/i);
  // And with the right inputs it accepts, so the refusals above are about what they say.
  assert.equal(QuoteVerifier.newWithRootCa(Buffer.from(ok.rootCertDer)).verify(q(ok), ok.bundle(), now(ok)).status, 'UpToDate');
});
