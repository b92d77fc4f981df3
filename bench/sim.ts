/**
 * Simulated quote generation and platform creation on one core, against the node:crypto ECDSA P-256 sign
 * rate measured in the same run (the anchor). A simulated quote costs one deterministic (RFC 6979) ECDSA
 * sign in pure JS (@noble/curves) plus the byte assembly; the QE report signature is made once per platform.
 *
 *   npm run bench:sim [-- --seconds 3]
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { createPlatform } from '../src/sim/index.js';
import { verifyQuote, prepareCollateral } from '../src/dcap/index.js';

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 3;

function bench(name: string, fn: () => void): number {
  for (let i = 0; i < 20; i++) fn();
  let n = 0;
  const limit = BigInt(Math.round(SECONDS * 1e9));
  const t0 = process.hrtime.bigint();
  while (process.hrtime.bigint() - t0 < limit) {
    for (let i = 0; i < 5; i++) fn();
    n += 5;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s;
  console.log(`${name.padEnd(52)} ${rate.toFixed(0).padStart(8)} ops/s  (${((1e6 * s) / n).toFixed(1)} µs/op)`);
  return rate;
}

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
const roundTrip = bench('sim quote + verifyQuote (cached collateral)', () => {
  reportData[0] = i++ & 0xff;
  if (!verifyQuote(p.quote({ mrEnclave, mrSigner, reportData }), collateral, opts).ok) throw new Error('verify');
});

console.log('');
console.log(`sim quote / anchor sign:           ${(quotes / anchor).toFixed(3)}`);
console.log(`createPlatform / anchor sign:      ${(platforms / anchor).toFixed(4)}`);
console.log(`sim+verify round trip / anchor:    ${(roundTrip / anchor).toFixed(3)}`);
