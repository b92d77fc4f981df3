/**
 * Simulated quote generation and platform creation on one core, against the node:crypto ECDSA P-256 sign
 * rate measured in the same run (the anchor). A simulated quote costs one deterministic (RFC 6979) ECDSA
 * sign in pure JS (@noble/curves) plus the byte assembly; the QE report signature is made once per platform.
 *
 *   npm run bench:sim [-- --seconds 3]
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createPlatform } from '../src/sim/index.js';
import { Verifier, prepareCollateral } from '../src/dcap/index.js';
import { bench as timed, benchSeconds } from './harness.js';

const SECONDS = benchSeconds(3);

const bench = (name: string, fn: () => unknown): number => timed(name, fn, { seconds: SECONDS, warmup: 20, batch: 5, width: 52 });

const msg = new Uint8Array(432).fill(7);
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const anchor = bench('anchor: node:crypto ECDSA P-256 sign (432 bytes)', () => {
  sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
});

const p = createPlatform({ seed: 'bench', issuedAt: new Date('2026-03-02T00:00:00Z') });
const mrEnclave = new Uint8Array(32).fill(1);
const mrSigner = new Uint8Array(32).fill(2);
const reportData = new Uint8Array(64);
let i = 0;
const quotes = bench('sim quote v3 (distinct report data each time)', () => {
  reportData[0] = i++ & 0xff;
  p.quote({ mrEnclave, mrSigner, reportData });
});
const platforms = bench('createPlatform (all keys, certificates, CRLs, collateral)', () => {
  createPlatform({ seed: `bench-${i++}`, issuedAt: new Date('2026-03-02T00:00:00Z') });
});

// The round trip the tests and a laptop demo run: simulate then verify with cached collateral.
const collateral = prepareCollateral(p.collateralInput());
const opts = { now: p.expected.verificationTime, trustAnchors: [p.rootCertDer] };
const verifier = new Verifier();
const roundTrip = bench('sim quote + Verifier.verify (cached collateral)', () => {
  reportData[0] = i++ & 0xff;
  if (!verifier.verify(p.quote({ mrEnclave, mrSigner, reportData }), collateral, opts).ok) throw new Error('verify');
});

console.log('');
console.log(`sim quote / anchor sign:           ${(quotes / anchor).toFixed(3)}`);
console.log(`createPlatform / anchor sign:      ${(platforms / anchor).toFixed(4)}`);
console.log(`sim+verify round trip / anchor:    ${(roundTrip / anchor).toFixed(3)}`);
