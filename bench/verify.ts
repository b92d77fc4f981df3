/**
 * DCAP verification throughput on one core with cached collateral, side by side with @phala/dcap-qvl on
 * the same case and with the raw node:crypto ECDSA P-256 verify rate (the anchor), all in one run.
 *
 *   npm run bench:verify [-- --seconds 3 --million]
 *
 * Targets: ≥ 30× @phala/dcap-qvl, and ≥ 0.5 × (ECDSA verifies/s ÷ 2) — two verifies per quote is the floor
 * once collateral is cached. `--million` also verifies 1,000,000 quotes and prints memory afterwards.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { generateKeyPairSync, sign, verify as cryptoVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Verifier, collateralFromBundle, prepareCollateral } from '../src/dcap/index.js';
import { bench as timed, benchSeconds } from './harness.js';

const args = process.argv.slice(2);
const SECONDS = benchSeconds(3);
const MILLION = args.includes('--million');
const fx = (p: string) => fileURLToPath(new URL(`../test/fixtures/dcap/${p}`, import.meta.url));
const quote = new Uint8Array(readFileSync(fx('quotes/phala_hello.bin')));
const bundleText = readFileSync(fx('collateral/phala_2025-06.json'), 'utf8');
const NOW = 1751000000;

const bench = (name: string, fn: () => unknown): number => timed(name, fn, { seconds: SECONDS, warmup: 50, batch: 20, width: 52 });

// Anchor: raw ECDSA P-256 / SHA-256 verify of 432 bytes with node:crypto (OpenSSL), raw r‖s signature.
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const msg = quote.subarray(0, 432);
const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
const ecdsa = bench('anchor: node:crypto ECDSA P-256 verify', () => {
  if (!cryptoVerify('sha256', msg, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig)) throw new Error('verify');
});

// confkube, collateral prepared once (what the attestation service does).
const collateral = prepareCollateral(collateralFromBundle(bundleText));
const verifier = new Verifier();
const first = verifier.verify(quote, collateral, { now: NOW });
if (!first.ok || first.status !== 'ConfigurationAndSWHardeningNeeded') throw new Error(`unexpected verdict ${JSON.stringify(first.errors)}`);
const ours = bench('confkube Verifier.verify (cached collateral)', () => {
  const v = verifier.verify(quote, collateral, { now: NOW });
  if (!v.ok) throw new Error('verify');
});

// @phala/dcap-qvl 0.3.9 on the same quote, collateral and time.
const require = createRequire(import.meta.url);
const phala = require('@phala/dcap-qvl') as { verify(q: Uint8Array, c: unknown, now: number): { status: string } };
const phalaCollateral = JSON.parse(bundleText);
const theirs = phala.verify(quote, phalaCollateral, NOW);
if (theirs.status !== first.status) throw new Error(`@phala/dcap-qvl says ${theirs.status}`);
const phalaRate = bench('@phala/dcap-qvl 0.3.9 verify()', () => {
  phala.verify(quote, phalaCollateral, NOW);
});

const floor = ecdsa / 2;
console.log('');
console.log(`confkube / @phala/dcap-qvl              = ${(ours / phalaRate).toFixed(1)}×   (target ≥ 30×)`);
console.log(`confkube / (ECDSA verify rate ÷ 2)      = ${(ours / floor).toFixed(2)}    (target ≥ 0.5)`);

if (MILLION) {
  if (global.gc) global.gc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 1_000_000; i++) verifier.verify(quote, collateral, { now: NOW });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (global.gc) global.gc();
  const after = process.memoryUsage();
  const mb = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;
  console.log('');
  console.log(`1,000,000 verifications in ${s.toFixed(1)} s (${(1e6 / s).toFixed(0)}/s)`);
  console.log(`heap used ${mb(before.heapUsed)} → ${mb(after.heapUsed)}; RSS ${mb(before.rss)} → ${mb(after.rss)}; caches ${JSON.stringify(verifier.cacheSizes())}`);
}
