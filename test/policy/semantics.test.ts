import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, type Claim } from '../../src/policy/index.js';
import { issuedMap, svc } from './helpers.js';

// Hand-written policies, one per evaluation rule of docs/policy.md, from §Claims to §Issued claims. Each asserts both outcomes of the rule
// so a wrong implementation fails one of them.

const v = (s: string) => `version=1.2;\n${s}`;
const permitted = (policy: string, claims: Claim[] | Record<string, unknown>) => compilePolicy(policy).evaluate(claims).permitted;

test('Authorization: deny wins over permit, whatever the order', () => {
  const claims = [svc('a', 1)];
  assert.equal(permitted(v('authorizationrules{=>permit(); [type=="a"]=>deny();};'), claims), false);
  assert.equal(permitted(v('authorizationrules{[type=="a"]=>deny(); =>permit();};'), claims), false);
  assert.equal(permitted(v('authorizationrules{=>permit(); [type=="b"]=>deny();};'), claims), true);
});

test('Authorization: no permit fired means deny; an empty section denies', () => {
  assert.equal(permitted(v('authorizationrules{[type=="b"]=>permit();};'), [svc('a', 1)]), false);
  assert.equal(permitted(v('authorizationrules{};'), [svc('a', 1)]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a"]=>permit();};'), [svc('a', 1)]), true);
});

test('Authorization: a denied attestation issues no claims to the token', () => {
  const d = compilePolicy(v('authorizationrules{=>deny();}; issuancerules{=>issue(type="x", value=1);};')).evaluate([]);
  assert.equal(d.permitted, false);
  assert.deepEqual(d.issuedClaims, []);
});

test('Actions: add feeds later rules, not earlier ones', () => {
  const later = v('authorizationrules{[type=="a"]=>add(type="b", value=true); [type=="b", value==true]=>permit();};');
  assert.equal(permitted(later, [svc('a', 1)]), true);
  assert.equal(permitted(later, [svc('z', 1)]), false);
  const earlier = v('authorizationrules{[type=="b"]=>permit(); [type=="a"]=>add(type="b", value=true);};');
  assert.equal(permitted(earlier, [svc('a', 1)]), false);
  // add in issuancerules feeds later issuance rules but does not reach the token.
  const d = compilePolicy(v('authorizationrules{=>permit();}; issuancerules{=>add(type="t", value="x"); c:[type=="t"]=>issue(type="u", value=c.value);};')).evaluate([]);
  assert.deepEqual(issuedMap(d), { u: 'x' });
});

test('Actions: added claims carry issuer AttestationPolicy', () => {
  const p = v('authorizationrules{=>add(type="b", value=1); [type=="b", issuer=="AttestationPolicy"]=>permit();};');
  assert.equal(permitted(p, []), true);
  const q = v('authorizationrules{=>add(type="b", value=1); [type=="b", issuer=="AttestationService"]=>permit();};');
  assert.equal(permitted(q, []), false);
});

test('Actions: issue lands in the token and in the incoming set; issueproperty lands in properties only', () => {
  const d = compilePolicy(v(`authorizationrules{=>permit();};
    issuancerules{ =>issue(type="i", value=1); [type=="i", value==1]=>issue(type="seen", value=true); =>issueproperty(type="p", value="q"); [type=="p"]=>issue(type="pseen", value=true);};`)).evaluate([]);
  assert.deepEqual(issuedMap(d), { i: 1, seen: true, pseen: true });
  assert.deepEqual(d.issuedProperties, [{ type: 'p', value: 'q', issuer: 'AttestationPolicy' }]);
});

test('Conditions: a condition holds when one claim satisfies all of its property tests', () => {
  const p = v('authorizationrules{[type=="a", value==2]=>permit();};');
  assert.equal(permitted(p, [svc('a', 1), svc('a', 2)]), true);
  assert.equal(permitted(p, [svc('a', 1), svc('b', 2)]), false);
  // Conditions joined by && must all hold.
  const both = v('authorizationrules{[type=="a"] && [type=="b"]=>permit();};');
  assert.equal(permitted(both, [svc('a', 1), svc('b', 2)]), true);
  assert.equal(permitted(both, [svc('a', 1)]), false);
});

test('Conditions: a condition without type matches any claim (the P9 gotcha)', () => {
  const p = v('authorizationrules{[value==true]=>permit();};');
  assert.equal(permitted(p, [svc('x', false), svc('y', true)]), true);
  assert.equal(permitted(p, [svc('x', false)]), false);
});

test('Conditions: absence test ![...] holds iff no claim matches', () => {
  const p = v('authorizationrules{![type=="revoked"]=>permit();};');
  assert.equal(permitted(p, [svc('ok', 1)]), true);
  assert.equal(permitted(p, [svc('revoked', 1)]), false);
  const q = v('authorizationrules{![type=="a", value==1]=>permit();};');
  assert.equal(permitted(q, [svc('a', 2)]), true);
  assert.equal(permitted(q, [svc('a', 1), svc('a', 2)]), false);
});

test('Joins: identifiers bind claims for later conditions and the action', () => {
  const p = v('authorizationrules{=>permit();}; issuancerules{c1:[type=="want"] && c2:[type=="have", value==c1.value] => issue(type="match", value=c2.value);};');
  assert.deepEqual(issuedMap(compilePolicy(p).evaluate([svc('want', 'x'), svc('have', 'y'), svc('have', 'x')])), { match: 'x' });
  assert.deepEqual(compilePolicy(p).evaluate([svc('want', 'x'), svc('have', 'y')]).issuedClaims, []);
});

test('Joins: issue fires once per combination of bound claims, identical claims once', () => {
  const p = v('authorizationrules{=>permit();}; issuancerules{c:[type=="a"] => issue(type="b", value=c.value); [type=="a"] => issue(type="once", value=1);};');
  const d = compilePolicy(p).evaluate([svc('a', 1), svc('a', 2), { type: 'a', value: 1, issuer: 'CustomClaim' }]);
  assert.deepEqual(d.issuedClaims.filter((c) => c.type === 'b').map((c) => c.value), [1, 2]);
  assert.equal(d.issuedClaims.filter((c) => c.type === 'once').length, 1);
});

test('Comparisons: Integer comparisons are numeric', () => {
  const at = (op: string, n: number) => permitted(v(`authorizationrules{[type=="svn", value${op}2]=>permit();};`), [svc('svn', n)]);
  assert.deepEqual([1, 2, 3].map((n) => at('>=', n)), [false, true, true]);
  assert.deepEqual([1, 2, 3].map((n) => at('>', n)), [false, false, true]);
  assert.deepEqual([1, 2, 3].map((n) => at('<=', n)), [true, true, false]);
  assert.deepEqual([1, 2, 3].map((n) => at('<', n)), [true, false, false]);
  assert.deepEqual([1, 2, 3].map((n) => at('==', n)), [false, true, false]);
  assert.deepEqual([1, 2, 3].map((n) => at('!=', n)), [true, false, true]);
  assert.equal(at('>=', 10), true); // numeric, not lexicographic ("10" < "2")
});

test('Comparisons: mismatched types never match: no coercion between "1", 1 and true', () => {
  assert.equal(permitted(v('authorizationrules{[type=="a", value=="1"]=>permit();};'), [svc('a', 1)]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value==1]=>permit();};'), [svc('a', '1')]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value==true]=>permit();};'), [svc('a', 'true')]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value!="1"]=>permit();};'), [svc('a', 1)]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value>=1]=>permit();};'), [svc('a', '5')]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value!=false]=>permit();};'), [svc('a', true)]), true);
});

test('Comparisons: string comparison is exact and case-sensitive, for values and types', () => {
  assert.equal(permitted(v('authorizationrules{[type=="a", value=="AB"]=>permit();};'), [svc('a', 'ab')]), false);
  assert.equal(permitted(v('authorizationrules{[type=="A", value=="ab"]=>permit();};'), [svc('a', 'ab')]), false);
  assert.equal(permitted(v('authorizationrules{[type=="a", value=="ab"]=>permit();};'), [svc('a', 'ab')]), true);
  assert.equal(permitted(v('authorizationrules{[type=="a", value=="ab "]=>permit();};'), [svc('a', 'ab')]), false);
});

test('Claims: issuer matching: AttestationService, CustomClaim, AttestationPolicy are distinct', () => {
  const p = v('authorizationrules{[type=="os", issuer=="CustomClaim"]=>permit();};');
  assert.equal(permitted(p, [{ type: 'os', value: 'x', issuer: 'CustomClaim' }]), true);
  assert.equal(permitted(p, [svc('os', 'x')]), false);
  const ne = v('authorizationrules{[type=="os", issuer!="AttestationService"]=>permit();};');
  assert.equal(permitted(ne, [svc('os', 'x')]), false);
  assert.equal(permitted(ne, [{ type: 'os', value: 'x', issuer: 'CustomClaim' }]), true);
  // Input claims without an issuer are evidence from the service.
  assert.equal(permitted(v('authorizationrules{[type=="os", issuer=="AttestationService"]=>permit();};'), [{ type: 'os', value: 'x' }]), true);
});

test('Claims: valueType tests the type of the value', () => {
  const p = v('authorizationrules{[type=="a", valueType=="Integer"]=>permit();};');
  assert.equal(permitted(p, [svc('a', 5)]), true);
  assert.equal(permitted(p, [svc('a', '5')]), false);
  const d = compilePolicy(v('authorizationrules{=>permit();}; issuancerules{=>issue(type="n", value="42", valueType="Integer");};')).evaluate([]);
  assert.deepEqual(issuedMap(d), { n: 42 });
});

test('configurationrules run first and can be tested by authorization rules', () => {
  const p = v('configurationrules{=>issueproperty(type="mode", value="strict");}; authorizationrules{[type=="mode", value=="strict"]=>permit();};');
  assert.equal(permitted(p, []), true);
});

test('a claim map input is evidence; arrays are sets matched member by member', () => {
  const p = v('authorizationrules{[type=="x-ms-sgx-advisory-ids", value=="INTEL-SA-00615"]=>deny(); =>permit();};');
  assert.equal(permitted(p, { 'x-ms-sgx-advisory-ids': ['INTEL-SA-00615'] }), false);
  assert.equal(permitted(p, { 'x-ms-sgx-advisory-ids': ['INTEL-SA-00334'] }), true);
  assert.equal(permitted(p, { 'x-ms-sgx-advisory-ids': [] }), true);
});

test('matchedRules lists the rules whose conditions held, by document index', () => {
  const p = compilePolicy(v('authorizationrules{[type=="no"]=>deny(); =>permit();}; issuancerules{[type=="a"]=>issue(type="b", value=1); [type=="no"]=>issue(type="c", value=1);};'));
  assert.deepEqual(p.evaluate([svc('a', 1)]).matchedRules, [1, 2]);
  assert.deepEqual(p.rules.map((r) => r.section), ['authorizationrules', 'authorizationrules', 'issuancerules', 'issuancerules']);
});

test('legacy $ claims are derived from the x-ms-sgx claims for the pre-GA policies', () => {
  const p = v('authorizationrules{[type=="$svn", value>=3] && [type=="$tee", value=="sgx"]=>permit();};');
  assert.equal(permitted(p, { 'x-ms-sgx-svn': 3, 'x-ms-attestation-type': 'sgx' }), true);
  assert.equal(permitted(p, { 'x-ms-sgx-svn': 2, 'x-ms-attestation-type': 'sgx' }), false);
});

test('Sections: issuance rules cannot fail attestation; authorization rules cannot issue to the token', () => {
  const d = compilePolicy(v('authorizationrules{=>permit();}; issuancerules{=>deny(); =>issue(type="x", value=1);};')).evaluate([]);
  assert.equal(d.permitted, true);
  assert.deepEqual(issuedMap(d), { x: 1 });
  const a = compilePolicy(v('authorizationrules{=>issue(type="early", value=1); [type=="early"]=>permit();}; issuancerules{c:[type=="early"]=>issue(type="late", value=c.value);};')).evaluate([]);
  assert.equal(a.permitted, true);
  assert.deepEqual(issuedMap(a), { late: 1 });
});
