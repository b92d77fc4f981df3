// Property: for any report fields, simulate → verify returns every field unchanged, authentic, with the
// platform's status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../../src/lib/bytes.js';
import { Verifier, prepareCollateral } from '../../src/dcap/index.js';
import { platform } from './helpers.js';

/** One verifier for the file, as the service keeps one: its caches make the many verifications here cheap. */
const verifier = new Verifier();

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

test('random report fields round-trip through simulate → verifyQuote (v3 and v4, every status)', () => {
  const statuses = ['UpToDate', 'SWHardeningNeeded', 'OutOfDateConfigurationNeeded'] as const;
  const prepared = statuses.map((status) => {
    const p = platform({ status, caType: status === 'SWHardeningNeeded' ? 'platform' : 'processor' });
    return { p, c: prepareCollateral(p.collateralInput()) };
  });
  fc.assert(
    fc.property(
      fc.record({
        which: fc.integer({ min: 0, max: statuses.length - 1 }),
        mrEnclave: bytes(32),
        mrSigner: bytes(32),
        isvProdId: u16,
        isvSvn: u16,
        configSvn: u16,
        miscSelect: fc.integer({ min: 0, max: 0xffffffff }),
        flags: u64,
        xfrm: u64,
        debug: fc.option(fc.boolean(), { nil: undefined }),
        reportData: fc.uint8Array({ minLength: 0, maxLength: 64 }),
        isvExtProdId: bytes(16),
        isvFamilyId: bytes(16),
        configId: bytes(64),
        version: fc.constantFrom(3 as const, 4 as const),
      }),
      (f) => {
        const { p, c } = prepared[f.which];
        const q = p.quote({ ...f, attributes: { flags: f.flags, xfrm: f.xfrm } });
        const v = verifier.verify(q, c, { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] });
        assert.equal(v.ok, true, JSON.stringify(v.errors));
        assert.equal(v.status, p.expected.status);
        assert.deepEqual(v.advisoryIds, p.expected.advisoryIds);
        const r = v.report!;
        assert.equal(toHex(r.mrEnclave), toHex(f.mrEnclave));
        assert.equal(toHex(r.mrSigner), toHex(f.mrSigner));
        assert.equal(r.isvProdId, f.isvProdId);
        assert.equal(r.isvSvn, f.isvSvn);
        assert.equal(r.configSvn, f.configSvn);
        assert.equal(r.miscSelect, f.miscSelect);
        assert.equal(toHex(r.isvExtProdId), toHex(f.isvExtProdId));
        assert.equal(toHex(r.isvFamilyId), toHex(f.isvFamilyId));
        assert.equal(toHex(r.configId), toHex(f.configId));
        const padded = new Uint8Array(64);
        padded.set(f.reportData);
        assert.equal(toHex(r.reportData), toHex(padded));
        const flags = f.debug === true ? f.flags | 2n : f.debug === false ? f.flags & ~2n : f.flags;
        assert.equal(r.attributes.flags, flags);
        assert.equal(r.attributes.xfrm, f.xfrm);
        assert.equal(v.debug, (flags & 2n) === 2n);
        assert.equal(v.quote!.header.version, f.version);
      },
    ),
    { numRuns: 150, seed: 20260302 },
  );
});
