// A real Azure Attestation token (test/fixtures/keyrelease/README.md) against the release policy engine: accepted when
// the policy names its issuer as an authority and its claims hold, refused otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseReleasePolicy, releaseAllowed } from '../../src/keyrelease/index.js';

const token = readFileSync(fileURLToPath(new URL('../fixtures/keyrelease/maa-sharedwus-2021-05-26.jwt', import.meta.url)), 'utf8');
const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const MAA = 'https://sharedwus.wus.attest.azure.net';
const SIGNER = '2c1a44952ae8207135c6c29b75b8c029372ee94b677e15c20bd42340f10d41aa';

const policy = (authority: string, conditions: object[]) => parseReleasePolicy({ version: '1.0.0', anyOf: [{ authority, allOf: conditions }] });
const skr = [
  { claim: 'x-ms-sgx-mrsigner', equals: SIGNER },
  { claim: 'x-ms-sgx-is-debuggable', equals: false },
  { claim: 'x-ms-sgx-svn', greaterOrEquals: 1 },
  { claim: 'x-ms-attestation-type', equals: 'sgx' },
];

test('a recorded Azure Attestation token satisfies an SKR policy that trusts its issuer', () => {
  assert.equal(claims.iss, MAA);
  assert.equal(releaseAllowed(policy(MAA, skr), claims), true);
  assert.equal(releaseAllowed(policy(`${MAA}/`, skr), claims), true, 'a trailing slash on the authority is the same issuer');
  // Azure Key Vault's own sample shape: several authorities, one of them this token's.
  const two = parseReleasePolicy({ version: '1.0.0', anyOf: [{ authority: 'https://other.eus.attest.azure.net', allOf: skr }, { authority: MAA, allOf: skr }] });
  assert.equal(releaseAllowed(two, claims), true);
});

test('the same token is refused when its issuer is not an authority of the policy, or a condition fails', () => {
  for (const authority of ['https://127.0.0.1:8443', 'https://sharedeus.eus.attest.azure.net', 'http://sharedwus.wus.attest.azure.net', 'https://sharedwus.wus.attest.azure.net.evil.example']) {
    assert.equal(releaseAllowed(policy(authority, skr), claims), false, authority);
  }
  assert.equal(releaseAllowed(policy(MAA, [...skr, { claim: 'x-ms-sgx-svn', greaterOrEquals: 2 }]), claims), false, 'svn 1 < 2');
  assert.equal(releaseAllowed(policy(MAA, [{ claim: 'x-ms-sgx-mrsigner', equals: SIGNER.toUpperCase() }]), claims), false, 'hex compares exactly');
  assert.equal(releaseAllowed(policy(MAA, [{ claim: 'x-ms-sgx-is-debuggable', equals: 'false' }]), claims), false, 'no coercion');
  assert.equal(releaseAllowed(policy(MAA, [{ claim: 'x-ms-sgx-config-id', exists: true }]), claims), false, 'a claim the token lacks');
  const { iss: _iss, ...noIssuer } = claims;
  assert.equal(releaseAllowed(policy(MAA, skr), noIssuer), false, 'no iss, no authority');
});
