import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, DEFAULT_POLICIES, sgxClaimsFromReport } from '../../src/policy/index.js';
import { fixture, issuedMap, TOKEN_A_LEGACY, tokenAIncoming } from './helpers.js';

// sgxClaimsFromReport builds the incoming claims (docs/policy.md §SGX incoming claims) from report fields.

const a = tokenAIncoming();
const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

test('the report fields of token (a) give the token\'s x-ms-sgx claims and P1 issues the real legacy claims', () => {
  const claims = sgxClaimsFromReport({
    mrEnclave: fromHex(a['x-ms-sgx-mrenclave'] as string),
    mrSigner: (a['x-ms-sgx-mrsigner'] as string).toUpperCase(), // hex strings are normalised to lower case
    isvProdId: 1, isvSvn: 1, debug: false,
    reportData: fromHex(a['x-ms-sgx-report-data'] as string),
    ehd: a['x-ms-sgx-ehd'] as string,
    collateral: a['x-ms-sgx-collateral'] as Record<string, string>,
    configId: new Uint8Array(64), isvFamilyId: new Uint8Array(16),
  });
  const byType = new Map(claims.map((c) => [c.type, c.value]));
  for (const k of ['x-ms-sgx-mrenclave', 'x-ms-sgx-mrsigner', 'x-ms-sgx-product-id', 'x-ms-sgx-svn', 'x-ms-sgx-is-debuggable', 'x-ms-sgx-report-data', 'x-ms-sgx-ehd', 'x-ms-attestation-type', 'x-ms-ver']) {
    assert.deepEqual(byType.get(k), a[k], k);
  }
  assert.deepEqual(byType.get('x-ms-sgx-collateral'), a['x-ms-sgx-collateral']);
  // All-zero KSS fields produce no claims (they appear only on Ice Lake with KSS, docs/policy.md §SGX incoming claims).
  assert.equal(byType.has('x-ms-sgx-config-id'), false);
  assert.equal(byType.has('x-ms-sgx-isv-family-id'), false);
  assert.ok(claims.every((c) => c.issuer === 'AttestationService'));
  assert.equal(byType.get('$sgx-mrsigner'), a['x-ms-sgx-mrsigner']);
  assert.equal(byType.get('$tee'), 'sgx');
  assert.equal(byType.get('$maa-ehd'), a['x-ms-sgx-ehd']);
  const d = compilePolicy(DEFAULT_POLICIES.SgxEnclave).evaluate(claims);
  assert.deepEqual(issuedMap(d), TOKEN_A_LEGACY);
  assert.deepEqual(issuedMap(compilePolicy(fixture('p08a-pre-ga-default.txt')).evaluate(claims)), TOKEN_A_LEGACY);
});

test('KSS claims appear when configured', () => {
  const configId = new Uint8Array(64);
  configId[63] = 0x9c;
  const claims = sgxClaimsFromReport({ mrEnclave: '00', mrSigner: '00', isvProdId: 4639, isvSvn: 0, debug: true, configId, configSvn: 3451, isvExtProdId: '8765432143211234ABCDABCDEF123456' });
  const byType = new Map(claims.map((c) => [c.type, c.value]));
  assert.equal(byType.get('x-ms-sgx-config-svn'), 3451);
  assert.equal((byType.get('x-ms-sgx-config-id') as string).slice(-2), '9c');
  assert.equal(byType.get('x-ms-sgx-isv-extended-product-id'), '8765432143211234abcdabcdef123456');
  assert.equal(byType.get('x-ms-sgx-is-debuggable'), true);
});
