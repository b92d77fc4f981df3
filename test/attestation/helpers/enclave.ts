// The enclave side of secure key release for tests: an RSA key pair, runtime data R = {"nonce","keys"}, and a
// simulated quote whose report data is SHA-256(R) ‖ 32 zero bytes (docs/keyrelease.md §Challenge–response).
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import assert from 'node:assert/strict';
import { compactDecrypt } from 'jose';
import type { SimPlatform } from '../../../src/sim/index.js';
import { request, type Running } from './harness.js';

export const sha = (s: string | Uint8Array): Buffer => createHash('sha256').update(s).digest();
export const JSON_CT = { 'content-type': 'application/json' };
export const AUTH = { authorization: 'Bearer test-admin-token-0123456789abcdef' };
export const ADMIN = { ...AUTH, 'content-type': 'application/json' };

export interface EnclaveIdentity { mrEnclave?: Uint8Array; mrSigner?: Uint8Array; debug?: boolean; isvSvn?: number }
export const GOOD: Required<Omit<EnclaveIdentity, 'debug'>> = { mrEnclave: sha('kr enclave'), mrSigner: sha('kr signer'), isvSvn: 1 };

/** An RSA key made once per test process (2048-bit generation is the slow part). */
const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const enclavePrivateKey: KeyObject = pair.privateKey;
const jwk = pair.publicKey.export({ format: 'jwk' });

export function runtimeData(nonce: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ nonce, keys: [{ kty: 'RSA', kid: 'enclave', key_ops: ['encrypt'], n: jwk.n, e: jwk.e }], ...extra }));
}

/** The challenge–response body for nonce N from PLATFORM; `reportData` overrides the binding (to break it). */
export function challengeBody(platform: SimPlatform, nonce: string, id: EnclaveIdentity = {}, reportData?: Uint8Array): string {
  const r = runtimeData(nonce);
  const quote = platform.quote({
    mrEnclave: id.mrEnclave ?? GOOD.mrEnclave, mrSigner: id.mrSigner ?? GOOD.mrSigner, isvSvn: id.isvSvn ?? GOOD.isvSvn, isvProdId: 1,
    reportData: reportData ?? Buffer.concat([sha(r), Buffer.alloc(32)]), ...(id.debug !== undefined ? { debug: id.debug } : {}),
  });
  return JSON.stringify({ quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: r.toString('base64url'), dataType: 'JSON' } });
}

export async function nonceFor(svc: Running, name: string): Promise<string> {
  const r = await request(svc, 'POST', `/keys/${name}/nonce`, undefined);
  assert.equal(r.status, 200, r.text);
  return r.json().nonce;
}

/** One challenge–response release: nonce, quote, release; the answer as it came. */
export async function challengeRelease(svc: Running, platform: SimPlatform, name: string, o: { version?: string; id?: EnclaveIdentity; nonce?: string } = {}) {
  const nonce = o.nonce ?? (await nonceFor(svc, name));
  return request(svc, 'POST', `/keys/${name}${o.version ? `/${o.version}` : ''}/release`, challengeBody(platform, nonce, o.id ?? {}), JSON_CT);
}

/** The secret a 200 answer carries, opened with the enclave's private key, with the JWE header. */
export async function opened(r: { status: number; text: string; json: () => { value: string } }): Promise<{ secret: Buffer; header: Record<string, unknown> }> {
  assert.equal(r.status, 200, r.text);
  const { plaintext, protectedHeader } = await compactDecrypt(r.json().value, enclavePrivateKey);
  return { secret: Buffer.from(plaintext), header: protectedHeader as Record<string, unknown> };
}

/** An SKR policy for the service at URL: this signer, not debuggable; confkube requirements as given. */
export function policyFor(url: string, confkube: Record<string, unknown> = { allowSimulated: true }, signer: Uint8Array = GOOD.mrSigner, enclave?: Uint8Array): Record<string, unknown> {
  return {
    version: '1.0.0',
    anyOf: [{ authority: url, allOf: [
      { claim: 'x-ms-sgx-mrsigner', equals: Buffer.from(signer).toString('hex') },
      ...(enclave ? [{ claim: 'x-ms-sgx-mrenclave', equals: Buffer.from(enclave).toString('hex') }] : []),
      { claim: 'x-ms-sgx-is-debuggable', equals: false },
    ] }],
    confkube,
  };
}
