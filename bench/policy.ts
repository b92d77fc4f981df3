/**
 * Policy evaluations per second on one core (issue 5 target: >= 100,000/s for the default SGX policy), for the
 * default policy (docs/policy.md §Default policies: P1, what the service runs) and for the largest corpus policy, each compiled
 * once. Anchors measured in the same run:
 *  - "plain JS": a hand-written function doing the same claim lookups as P1 (6 look-ups in the claim map, 6
 *    issued claims) — the ceiling for an interpreter of this policy;
 *  - "JSON.parse": parsing the JSON text of the same claim set, a cost every attestation pays anyway.
 * Ratios are evaluations/s ÷ anchor/s.
 *
 *   npm run bench:policy [-- --seconds 2]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { checkPolicy, compilePolicy, DEFAULT_POLICIES, type Claim } from '../src/policy/index.js';
import { bench as timed, benchSeconds, benchSink } from './harness.js';

const SECONDS = benchSeconds(2);
const FIXTURES = new URL('../test/fixtures/policy/', import.meta.url);

const bench = (name: string, fn: () => unknown): number => timed(name, fn, { seconds: SECONDS, warmup: 2000, batch: 100, width: 60 });

// The incoming claims of real token (a) (docs/policy.md §Test corpus), as the attestation service passes them: a map.
const token = readFileSync(new URL('token-a-sharedwus-2021-05-26.jwt', FIXTURES), 'utf8').trim();
const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
const sgx: Record<string, unknown> = {};
for (const [k, v] of Object.entries(payload)) if (k.startsWith('x-ms-') && k !== 'x-ms-policy-hash') sgx[k] = v;
const sgxJson = JSON.stringify(sgx);

const P1_RULES: [string, string][] = [
  ['x-ms-sgx-is-debuggable', 'is-debuggable'], ['x-ms-sgx-mrsigner', 'sgx-mrsigner'], ['x-ms-sgx-mrenclave', 'sgx-mrenclave'],
  ['x-ms-sgx-product-id', 'product-id'], ['x-ms-sgx-svn', 'svn'], ['x-ms-attestation-type', 'tee'],
];
const anchorJs = bench('anchor: plain JS doing P1\'s 6 look-ups and issues', () => {
  const out: Claim[] = [];
  for (const [from, to] of P1_RULES) {
    const v = sgx[from];
    if (v !== undefined) out.push({ type: to, value: v, issuer: 'AttestationPolicy' });
  }
  return out.length === 6;
});
const anchorJson = bench('anchor: JSON.parse of the same claim set', () => (JSON.parse(sgxJson) as object) !== null);

const p1 = compilePolicy(DEFAULT_POLICIES.SgxEnclave);
if (p1.evaluate(sgx).issuedClaims.length !== 6) throw new Error('P1 does not issue 6 claims');
const rateP1 = bench('default SGX policy P1 (map input, token (a) claims)', () => p1.evaluate(sgx).permitted);
const sgxArray: Claim[] = Object.entries(sgx).map(([type, value]) => ({ type, value }));
const rateP1a = bench('default SGX policy P1 (Claim[] input)', () => p1.evaluate(sgxArray).permitted);

// The largest corpus policy that compiles (strict, else lenient), with claims that make its rules fire.
const corpus = readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')).map((f) => ({ f, text: readFileSync(new URL(f, FIXTURES), 'utf8') }))
  .filter(({ text }) => checkPolicy(text).ok || checkPolicy(text, { lenient: true }).ok)
  .sort((a, b) => b.text.length - a.text.length);
const largest = corpus[0];
const lenient = !checkPolicy(largest.text).ok;
const big = compilePolicy(largest.text, { lenient });
const ev = JSON.stringify({ Events: [
  { EventTypeString: 'EV_EFI_VARIABLE_DRIVER_CONFIG', ProcessedData: { VariableGuid: '8BE4DF61-93CA-11D2-AA0D-00E098032B8C', UnicodeName: 'SecureBoot', VariableData: 'AQ' } },
  { EventTypeString: 'EV_SEPARATOR', ProcessedData: {} },
] });
const bigClaims: Claim[] = [
  ...sgxArray,
  { type: 'aikValidated', value: true }, { type: 'secureBootEnabled', value: true }, { type: 'bootDebuggingDisabled', value: true },
  { type: 'notSafeMode', value: true }, { type: 'events', value: ev }, { type: 'bootEvents', value: ev },
];
const d = big.evaluate(bigClaims);
if (!d.permitted || d.issuedClaims.length === 0) throw new Error(`${largest.f} did not permit/issue: ${d.denyReason}`);
const rateBig = bench(`largest corpus policy ${largest.f} (${largest.text.length} bytes${lenient ? ', lenient' : ''})`, () => big.evaluate(bigClaims).permitted);

const compileRate = bench('compilePolicy(P1)', () => compilePolicy(DEFAULT_POLICIES.SgxEnclave).version === '1.0');

console.log('');
console.log(`P1 evaluations/s:                       ${rateP1.toFixed(0)} (target >= 100000: ${rateP1 >= 100_000 ? 'met' : 'NOT met'})`);
console.log(`P1 / anchor plain JS:                   ${(rateP1 / anchorJs).toFixed(3)}`);
console.log(`P1 / anchor JSON.parse:                 ${(rateP1 / anchorJson).toFixed(3)}`);
console.log(`P1 Claim[] input / anchor JSON.parse:   ${(rateP1a / anchorJson).toFixed(3)}`);
console.log(`${largest.f} / anchor JSON.parse: ${(rateBig / anchorJson).toFixed(3)}`);
console.log(`compilePolicy(P1) / anchor JSON.parse:  ${(compileRate / anchorJson).toFixed(4)}`);
if (benchSink() < 0) console.log(benchSink());
