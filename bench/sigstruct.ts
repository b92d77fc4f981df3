/**
 * SIGSTRUCT, signed-enclave and .sgxs throughput on one core, each against an anchor measured in the same
 * run: the bare node:crypto RSA-3072 verify (key object prepared once) for the signature check, and a
 * plain SHA-256 over the same bytes for the file readers. The ratios say what parsing, key construction,
 * the Q1/Q2 check and the structure validation cost on top of the unavoidable work.
 *
 *   npm run bench:sigstruct [-- --seconds 3]
 */
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { findSigstructs } from '../src/sgx/enclave-file.js';
import { measureSdkEnclave, measureSgxs } from '../src/sgx/sgxs.js';
import { parseSigstruct, verifySigstruct } from '../src/sgx/sigstruct.js';
import { bench as timed, benchSeconds } from './harness.js';

const SECONDS = benchSeconds(3);

function fixture(name: string): Uint8Array {
  const b = readFileSync(new URL(`../test/fixtures/sigstruct/${name}`, import.meta.url));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const bench = (name: string, fn: () => unknown): number => timed(name, fn, { seconds: SECONDS, warmup: 20, batch: 5, width: 60 });

const sig = fixture('intel-le-prod-css_sgx-2.25.bin');
const so = fixture('intel-tdqe_tdx-1.5.signed.so');
const sgxs = fixture('fortanix-test_enclave.sgxs');
const rev = (b: Uint8Array) => Buffer.from(b).reverse();

const key = createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: rev(sig.subarray(128, 512)).toString('base64url'), e: 'Aw' } });
const msg = Buffer.concat([sig.subarray(0, 128), sig.subarray(900, 1028)]);
const s = rev(sig.subarray(516, 900));
const anchorVerify = bench('anchor: node:crypto RSA-3072 e=3 verify (key prepared)', () => {
  if (!verify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, s)) throw new Error('verify');
});
const parseVerify = bench('parseSigstruct + verifySigstruct (key, signature, Q1/Q2)', () => {
  const v = verifySigstruct(parseSigstruct(sig));
  if (!v.signatureValid || !v.q1q2Valid) throw new Error('verify');
});
const parseOnly = bench('parseSigstruct alone (fields + MRSIGNER)', () => {
  parseSigstruct(sig);
});

const anchorSo = bench(`anchor: sha256 over the signed enclave (${so.length} B)`, () => {
  createHash('sha256').update(so).digest();
});
const findSo = bench('findSigstructs on the signed enclave (ELF, note, metadata)', () => {
  if (findSigstructs(so).length !== 1) throw new Error('find');
});

const measureSo = bench('measureSdkEnclave (rebuild the loader\'s 417 pages and hash)', () => {
  measureSdkEnclave(so, 1194521);
});

const anchorSgxs = bench(`anchor: sha256 over the .sgxs (${sgxs.length} B)`, () => {
  createHash('sha256').update(sgxs).digest();
});
const measure = bench('measureSgxs (parse, validate, recompute)', () => {
  measureSgxs(sgxs);
});

console.log('');
console.log(`parse+verify / anchor RSA verify:     ${(parseVerify / anchorVerify).toFixed(3)}`);
console.log(`parse only / anchor RSA verify:       ${(parseOnly / anchorVerify).toFixed(3)}`);
console.log(`findSigstructs(.so) / sha256(.so):    ${(findSo / anchorSo).toFixed(3)}`);
console.log(`measureSdkEnclave / sha256(.so):      ${(measureSo / anchorSo).toFixed(3)}`);
console.log(`measureSgxs / sha256(.sgxs):          ${(measure / anchorSgxs).toFixed(3)}`);
