import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, compilePolicy, DEFAULT_POLICIES, DEFAULT_SGX_POLICY_V11, policyHash, PolicyError } from '../../src/policy/index.js';
import { fixture, fixtureNames, issuedMap, jwtPayload, propsMap, svc, TOKEN_A_LEGACY, tokenAIncoming } from './helpers.js';

// The verbatim corpus of published policies and real MAA responses (docs/policy.md §Test corpus).

const incomingA = tokenAIncoming();
const withClaims = (over: Record<string, unknown>): Record<string, unknown> => ({ ...incomingA, ...over });

test('token (a) carries the SGX claims the corpus is evaluated against', () => {
  assert.equal(incomingA['x-ms-sgx-mrsigner'], TOKEN_A_LEGACY['sgx-mrsigner']);
  assert.equal(incomingA['x-ms-sgx-product-id'], 1);
  assert.equal(incomingA['x-ms-sgx-is-debuggable'], false);
  assert.equal(incomingA['x-ms-attestation-type'], 'sgx');
});

/** Policies that are doc artefacts and therefore rejected in strict mode (docs/policy.md §Tolerated typos), with where. */
const STRICT_REJECTS: Record<string, { line: number; column: number; lenientOk: boolean }> = {
  'p03-sample-placeholders.txt': { line: 5, column: 50, lenientOk: false },
  'p08-pre-ga-default-typographic.txt': { line: 4, column: 11, lenientOk: true },
  'p10-custom-tcb-baseline.txt': { line: 5, column: 42, lenientOk: true },
  'p11-tcb-10-truncated.txt': { line: 15, column: 1, lenientOk: false },
  'p12-bigdl-truncated.txt': { line: 13, column: 1, lenientOk: false },
  'p16-author-sign-typos.txt': { line: 4, column: 11, lenientOk: true },
  'p17-grammar-examples-fragment.txt': { line: 1, column: 1, lenientOk: false },
  'p20-v12-functions.txt': { line: 13, column: 38, lenientOk: true },
};

test('every corpus policy parses, or is rejected exactly where the spec says it must be', () => {
  const names = fixtureNames();
  assert.ok(names.length >= 30, `corpus has ${names.length} files`);
  for (const name of names) {
    const text = fixture(name);
    const strict = checkPolicy(text);
    const bad = STRICT_REJECTS[name];
    if (bad === undefined) {
      assert.equal(strict.ok, true, `${name}: ${strict.ok ? '' : strict.errors[0].message}`);
      continue;
    }
    assert.equal(strict.ok, false, `${name} must be rejected in strict mode`);
    if (!strict.ok) {
      assert.ok(strict.errors[0] instanceof PolicyError);
      assert.deepEqual([strict.errors[0].line, strict.errors[0].column], [bad.line, bad.column], `${name}: ${strict.errors[0].message}`);
    }
    const lenient = checkPolicy(text, { lenient: true });
    assert.equal(lenient.ok, bad.lenientOk, `${name} lenient: ${lenient.ok ? 'ok' : lenient.errors[0].message}`);
  }
});

test('P1: the real shared default policy permits token (a), issues its legacy claims, and hashes to the real x-ms-policy-hash', () => {
  const p1 = fixture('p01-shared-default.txt');
  assert.equal(p1, DEFAULT_POLICIES.SgxEnclave);
  assert.equal(DEFAULT_POLICIES.OpenEnclave, p1);
  const token = jwtPayload(fixture('token-a-sharedwus-2021-05-26.jwt'));
  assert.equal(policyHash(p1), token['x-ms-policy-hash']);
  assert.equal(policyHash(p1), 'bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw');
  const d = compilePolicy(p1).evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), TOKEN_A_LEGACY);
  // The issued claims are exactly the policy-issued claims of the real token.
  for (const [k, v] of Object.entries(TOKEN_A_LEGACY)) assert.deepEqual(token[k], v, k);
  assert.ok(d.issuedClaims.every((c) => c.issuer === 'AttestationPolicy'));
});

test('P1 issues exactly the x-ms-policy object of the real 2022 token (b)', () => {
  const xp = JSON.parse(fixture('token-b-x-ms-policy-2022-10-07.json'))['x-ms-policy'];
  assert.deepEqual(issuedMap(compilePolicy(DEFAULT_POLICIES.SgxEnclave).evaluate(incomingA)), xp);
});

test('the real GET /policies response carries P1 byte for byte', () => {
  const body = JSON.parse(fixture('getpolicy-sharedwus-2021-07-26.json'));
  const payload = jwtPayload(body['x-ms-policy']);
  const text = Buffer.from(payload.AttestationPolicy as string, 'base64url').toString('utf8');
  assert.equal(text, fixture('p01-shared-default.txt'));
  assert.equal(policyHash(text), 'bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw');
});

test('P14a: the policy of the real PUT request hashes to the recorded x-ms-policy-hash', () => {
  const p14a = fixture('p14a-sdk-permit.txt');
  const req = jwtPayload(fixture('putpolicy-request-2022-01-28.jws'));
  assert.equal(Buffer.from(req.AttestationPolicy as string, 'base64url').toString('utf8'), p14a);
  assert.equal(policyHash(p14a), 'z0FRjKS0ssQTNur1V6BV8WIrh9M3fzgTo0EfHRvapWU');
  const d = compilePolicy(p14a).evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(d.issuedClaims, []);
});

test('policyHash hashes the base64url text, so any byte of the text changes it', () => {
  const p1 = DEFAULT_POLICIES.SgxEnclave;
  assert.notEqual(policyHash(p1 + '\n'), policyHash(p1));
  assert.notEqual(policyHash(p1.replace('version= 1.0', 'version=1.0')), policyHash(p1));
  assert.equal(policyHash(''), '47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
});

test('P2: the current default permits, issues the legacy claims and sets the azuredefault TCB baseline', () => {
  assert.equal(fixture('p02-default-v11.txt'), DEFAULT_SGX_POLICY_V11);
  const d = compilePolicy(fixture('p02-default-v11.txt')).evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), TOKEN_A_LEGACY);
  assert.deepEqual(propsMap(d), { 'x-ms-sgx-tcbidentifier': 'azuredefault' });
});

test('P3a: permit and issue signer on token (a); svn >= 2 or an upper-case MRSIGNER literal deny', () => {
  const p3a = fixture('p03a-sample-concrete.txt');
  const d = compilePolicy(p3a).evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), { signer: TOKEN_A_LEGACY['sgx-mrsigner'] });
  const svn2 = compilePolicy(p3a.replace('value>= 0', 'value>= 2')).evaluate(incomingA);
  assert.equal(svn2.permitted, false);
  assert.deepEqual(svn2.issuedClaims, []);
  assert.match(svn2.denyReason ?? '', /no permit/);
  const upper = compilePolicy(p3a.replace(TOKEN_A_LEGACY['sgx-mrsigner'], TOKEN_A_LEGACY['sgx-mrsigner'].toUpperCase())).evaluate(incomingA);
  assert.equal(upper.permitted, false);
  // A debuggable build of the same enclave is refused.
  assert.equal(compilePolicy(p3a).evaluate(withClaims({ 'x-ms-sgx-is-debuggable': true })).permitted, false);
  assert.equal(compilePolicy(p3a).evaluate(withClaims({ 'x-ms-sgx-product-id': 2 })).permitted, false);
});

test('P4: token (a) is denied (not debuggable, unknown MRSIGNER); a debuggable mrsigner2 enclave is permitted', () => {
  const p4 = compilePolicy(fixture('p04-multiple-enclaves.txt'));
  assert.equal(p4.evaluate(incomingA).permitted, false);
  assert.equal(p4.evaluate(withClaims({ 'x-ms-sgx-is-debuggable': true, 'x-ms-sgx-mrsigner': 'mrsigner2' })).permitted, true);
  assert.equal(p4.evaluate(withClaims({ 'x-ms-sgx-is-debuggable': false, 'x-ms-sgx-mrsigner': 'mrsigner2' })).permitted, false);
});

test('P5-P7: MRSIGNER rotation before, during and after', () => {
  const [before, during, after] = ['p05-rotation-before.txt', 'p06-rotation-during.txt', 'p07-rotation-after.txt'].map((f) => compilePolicy(fixture(f)));
  const s1 = withClaims({ 'x-ms-sgx-mrsigner': 'mrsigner1' });
  const s2 = withClaims({ 'x-ms-sgx-mrsigner': 'mrsigner2' });
  assert.deepEqual([before, during, after].map((p) => p.evaluate(s1).permitted), [true, true, false]);
  assert.deepEqual([before, during, after].map((p) => p.evaluate(s2).permitted), [false, true, true]);
  assert.deepEqual([before, during, after].map((p) => p.evaluate(incomingA).permitted), [false, false, false]);
});

test('P8 (lenient) and P8a: the pre-GA default permits through the $ claims and issues the legacy set', () => {
  for (const [name, lenient] of [['p08a-pre-ga-default.txt', false], ['p08-pre-ga-default-typographic.txt', true]] as const) {
    const d = compilePolicy(fixture(name), { lenient }).evaluate(incomingA);
    assert.equal(d.permitted, true, name);
    assert.deepEqual(issuedMap(d), TOKEN_A_LEGACY, name);
  }
  // Without the evidence claims there is no $is-debuggable, so no permit.
  assert.equal(compilePolicy(fixture('p08a-pre-ga-default.txt')).evaluate({}).permitted, false);
});

test('P8a: the unsigned JWS sample carries exactly the P8a text', () => {
  const payload = jwtPayload(fixture('p08a-unsigned.jws'));
  assert.equal(Buffer.from(payload.AttestationPolicy as string, 'base64url').toString('utf8'), fixture('p08a-pre-ga-default.txt'));
});

test('P9: permit and NotDebuggable=false on token (a); a debuggable enclave is denied by deny()', () => {
  const p9 = compilePolicy(fixture('p09-signed-sample.txt'));
  const d = p9.evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), { NotDebuggable: false, ...TOKEN_A_LEGACY });
  const dbg = p9.evaluate(withClaims({ 'x-ms-sgx-is-debuggable': true }));
  assert.equal(dbg.permitted, false);
  assert.match(dbg.denyReason ?? '', /deny\(\) fired/);
  assert.deepEqual(dbg.issuedClaims, []);
});

test('P10 (lenient) and P11: custom TCB baselines become properties', () => {
  const d10 = compilePolicy(fixture('p10-custom-tcb-baseline.txt'), { lenient: true }).evaluate(incomingA);
  assert.equal(d10.permitted, true);
  assert.deepEqual(propsMap(d10), { 'x-ms-sgx-tcbidentifier': '11' });
  assert.deepEqual(issuedMap(d10), TOKEN_A_LEGACY);
  const d11 = compilePolicy(fixture('p11-tcb-10-completed.txt')).evaluate(incomingA);
  assert.deepEqual(propsMap(d11), { 'x-ms-sgx-tcbidentifier': '10' });
  assert.deepEqual(issuedMap(d11), TOKEN_A_LEGACY);
});

test('P12: the allow-list placeholder is a literal string: token (a) is denied, an enclave with that MRENCLAVE permitted', () => {
  const p12 = compilePolicy(fixture('p12-bigdl-completed.txt'));
  assert.equal(p12.evaluate(incomingA).permitted, false);
  const d = p12.evaluate(withClaims({ 'x-ms-sgx-mrenclave': '<your_sgx_mrenclave>' }));
  assert.equal(d.permitted, true);
  assert.equal(issuedMap(d)['sgx-mrenclave'], '<your_sgx_mrenclave>');
});

test('P13: x-ms-tee-is-debuggable is not an MAA claim, so the ITA adapter sample denies', () => {
  const p13 = compilePolicy(fixture('p13-ita-adapter.txt'));
  assert.equal(p13.evaluate(incomingA).permitted, false);
  assert.equal(p13.evaluate(withClaims({ 'x-ms-tee-is-debuggable': false })).permitted, true);
});

test('P14b permits with the default claims; P14c and P15a deny everything', () => {
  const d = compilePolicy(fixture('p14b-sdk-experimental.txt')).evaluate(incomingA);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), TOKEN_A_LEGACY);
  for (const f of ['p14c-sdk-deny.txt', 'p15a-deny-all.txt']) {
    const r = compilePolicy(fixture(f)).evaluate(incomingA);
    assert.equal(r.permitted, false, f);
    assert.match(r.denyReason ?? '', /deny\(\) fired/);
  }
});

test('P15b/P15c: secure boot from the service permits; the custom claim is an Integer issued by the policy', () => {
  const sb = [svc('secureBootEnabled', true)];
  assert.equal(compilePolicy(fixture('p15b-permit-secure-boot.txt')).evaluate(sb).permitted, true);
  assert.equal(compilePolicy(fixture('p15b-permit-secure-boot.txt')).evaluate([svc('secureBootEnabled', false)]).permitted, false);
  // The same claim from the attester (CustomClaim) does not satisfy issuer=="AttestationService".
  assert.equal(compilePolicy(fixture('p15b-permit-secure-boot.txt')).evaluate([{ type: 'secureBootEnabled', value: true, issuer: 'CustomClaim' }]).permitted, false);
  const d = compilePolicy(fixture('p15c-add-custom-claim.txt')).evaluate(sb);
  assert.equal(d.permitted, true);
  assert.deepEqual(d.issuedClaims, [{ type: 'SecurityLevelValue', value: 100, issuer: 'AttestationPolicy' }]);
});

test('P16 (lenient): issue(claim=c) copies the bound claims', () => {
  const p16 = compilePolicy(fixture('p16-author-sign-typos.txt'), { lenient: true });
  assert.ok(p16.warnings.some((w) => /missing ";"/.test(w.message)));
  const d = p16.evaluate([svc('secureBootEnables', true), svc('notSafeMode', true)]);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), { secureBootEnables: true, notSafeMode: true });
  assert.equal(p16.evaluate([svc('notSafeMode', true)]).permitted, false);
});

test('P17 (ASCII quotes): identifier cross-references, issueproperty and issue(claim=C2)', () => {
  const rules = fixture('p17-grammar-examples-fragment.txt').replace(/[\u201c\u201d]/g, '"');
  const p = compilePolicy(`version=1.0;authorizationrules{=>permit();};issuancerules{\n${rules}};`);
  assert.equal(p.rules.filter((r) => r.section === 'issuancerules').length, 2);
  const same = p.evaluate([{ type: 'OSName', value: 'Windows', issuer: 'CustomClaim' }, svc('OSName', 'Windows')]);
  assert.deepEqual(propsMap(same), { report_validity_in_minutes: 1440 });
  assert.deepEqual(issuedMap(same), { OSName: 'Windows' });
  const differ = p.evaluate([{ type: 'OSName', value: 'Linux', issuer: 'CustomClaim' }, svc('OSName', 'Windows')]);
  assert.deepEqual(differ.issuedProperties, []);
  assert.deepEqual(differ.issuedClaims, []);
});

const tpm = (aik: boolean) => [svc('aikValidated', aik), svc('secureBootEnabled', true), svc('bootDebuggingDisabled', true), svc('notSafeMode', true)];

test('P18/P19: TPM policies issue PlatformAttested and set configuration properties', () => {
  assert.deepEqual(issuedMap(compilePolicy(fixture('p18-tpm-v10.txt')).evaluate(tpm(true))), { PlatformAttested: true });
  assert.deepEqual(compilePolicy(fixture('p18-tpm-v10.txt')).evaluate(tpm(false)).issuedClaims, []);
  const p19 = compilePolicy(fixture('p19-tpm-v11.txt'));
  const d = p19.evaluate(tpm(false));
  assert.deepEqual(issuedMap(d), { PlatformAttested: false });
  assert.deepEqual(propsMap(d), { required_pcr_mask: 15, require_valid_aik_cert: false });
});

test('P20 (lenient): JmesPath + JsonToClaimValue find secure boot in TPM events; ![...] supplies false', () => {
  const p20 = compilePolicy(fixture('p20-v12-functions.txt'), { lenient: true });
  const ev = (data: string) => JSON.stringify({
    Events: [
      { EventTypeString: 'EV_EFI_VARIABLE_DRIVER_CONFIG', ProcessedData: { VariableGuid: '8BE4DF61-93CA-11D2-AA0D-00E098032B8C', UnicodeName: 'SecureBoot', VariableData: data } },
      { EventTypeString: 'EV_EFI_VARIABLE_DRIVER_CONFIG', ProcessedData: { VariableGuid: '8BE4DF61-93CA-11D2-AA0D-00E098032B8C', UnicodeName: 'PK', VariableData: 'xx' } },
      { EventTypeString: 'EV_SEPARATOR', ProcessedData: {} },
    ],
  });
  assert.deepEqual(issuedMap(p20.evaluate([svc('events', ev('AQ'))])), { secureBootEnabled: true });
  assert.deepEqual(issuedMap(p20.evaluate([svc('events', ev('AA'))])), { secureBootEnabled: false });
  assert.deepEqual(p20.evaluate([svc('events', ev('AA'))]).issuedClaims.length, 1);
  assert.deepEqual(issuedMap(p20.evaluate([])), { secureBootEnabled: false });
});

test('P21: the VBS identity policy permits matching enclaves only', () => {
  const p21 = compilePolicy(fixture('p21-v12-vbs.txt'));
  const ok = [svc('vsmReportPresent', true), svc('enclaveAuthorId', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), svc('enclaveImageId', 'AQEAAAAAAAAAAAAAAAAAAA'), svc('enclaveSvn', 0)];
  assert.equal(p21.evaluate(ok).permitted, true);
  assert.equal(p21.evaluate([...ok.slice(0, 3), svc('enclaveSvn', -1)]).permitted, false);
  assert.equal(p21.evaluate(ok.slice(1)).permitted, false);
});

test('P22: every boot event claim is re-issued under the output name', () => {
  const d = compilePolicy(fixture('p22-v12-issue-all.txt')).evaluate([svc('bootEvents', '[1]'), svc('events', '{"a":1}'), svc('other', 1)]);
  assert.deepEqual(issuedMap(d), { outputBootEvents: '[1]', outputEvents: '{"a":1}' });
});
