import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, checkPolicy, type Claim } from '../../src/policy/index.js';
import { issuedMap, svc } from './helpers.js';

// The 1.2 functions with the examples of MS docs claim-rule-functions (docs/policy.md §Functions).
// Added claims are made visible by issuing them.

const run = (rules: string, claims: Claim[] = []) =>
  compilePolicy(`version=1.2; authorizationrules{=>permit();}; issuancerules{ ${rules} c:[issuer=="AttestationPolicy"] => issue(claim=c); };`).evaluate(claims);

test('JmesPath returns JSON text', () => {
  assert.deepEqual(issuedMap(run('=>add(type="JmesPathResult", value=JmesPath("{\\"foo\\": \\"bar\\"}", "foo"));')), { JmesPathResult: '"bar"' });
  const d = run('c1:[type=="JsonData"] && c2:[type=="JmesPathQuery"] => add(type="JmesPathResult", value=JmesPath(c1.value, c2.value));',
    [svc('JsonData', '{"values": [0,1,2,3,4]}'), svc('JmesPathQuery', 'values[2]')]);
  assert.deepEqual(issuedMap(d), { JmesPathResult: '2' });
});

test('JsonToClaimValue: integer, Boolean, string, set, null', () => {
  const rules = `c:[type=="JsonIntegerData"] => add(type="IntegerResult", value=JsonToClaimValue(c.value));
    c:[type=="JsonBooleanData"] => add(type="BooleanResult", value=JsonToClaimValue(c.value));
    c:[type=="JsonStringData"] => add(type="StringResult", value=JsonToClaimValue(c.value));
    c:[type=="JsonData"] => add(type="Result", value=JsonToClaimValue(c.value));`;
  const d = run(rules, [svc('JsonIntegerData', '100'), svc('JsonBooleanData', 'true'), svc('JsonStringData', '"abc"'), svc('JsonData', '[0, "abc", true]')]);
  assert.deepEqual(issuedMap(d), { IntegerResult: 100, BooleanResult: true, StringResult: 'abc', Result: [0, 'abc', true] });
  const n = run(rules, [svc('JsonData', 'null')]);
  assert.equal(n.permitted, true);
  assert.deepEqual(n.issuedClaims, []);
});

test('JsonToClaimValue on an object or a fraction fails the attestation', () => {
  for (const bad of ['{"a":1}', '1.5', '[[1]]', 'not json']) {
    const d = run('c:[type=="J"] => add(type="R", value=JsonToClaimValue(c.value));', [svc('J', bad)]);
    assert.equal(d.permitted, false, bad);
    assert.match(d.denyReason ?? '', /JsonToClaimValue/);
  }
});

test('IsSubsetOf, ContainsOnlyValue, AppendString, NegateBool', () => {
  const sets = [svc('Subset', '[1,2]'), svc('Superset', '[1,2,3]'), svc('Other', '[4]')];
  const d = run(`c1:[type=="Subset"] && c2:[type=="Superset"] => add(type="IsSubset", value=IsSubsetOf(JsonToClaimValue(c1.value), JsonToClaimValue(c2.value)));
    c1:[type=="Other"] && c2:[type=="Superset"] => add(type="OtherSubset", value=IsSubsetOf(JsonToClaimValue(c1.value), JsonToClaimValue(c2.value)));
    => add(type="Only", value=ContainsOnlyValue(JsonToClaimValue("[7,7]"), 7));
    => add(type="NotOnly", value=ContainsOnlyValue(JsonToClaimValue("[7,8]"), 7));
    => add(type="Empty", value=ContainsOnlyValue(JsonToClaimValue("[]"), 7));
    => add(type="Path", value=AppendString(AppendString("\\\\windows", "\\\\"), "system32"));
    => add(type="Neg", value=NegateBool(true));`, sets);
  assert.deepEqual(issuedMap(d), { IsSubset: true, OtherSubset: false, Only: true, NotOnly: false, Empty: false, Path: '\\windows\\system32', Neg: false });
});

test('![...] with add supplies a default only when the claim is absent (doc example)', () => {
  const rules = '![type=="Claim3"] => add(type="Claim3", value=300);';
  assert.deepEqual(issuedMap(run(rules)), { Claim3: 300 });
  assert.deepEqual(run(rules, [{ type: 'Claim3', value: 1, issuer: 'CustomClaim' }]).issuedClaims, []);
});

test('function misuse is a located compile error: arity, bad literal JMESPath, unknown function', () => {
  const wrap = (r: string) => `version=1.2; authorizationrules{=>permit();}; issuancerules{ ${r} };`;
  for (const [rule, re] of [
    ['=>add(type="a", value=NegateBool(true, false));', /NegateBool takes 1 argument/],
    ['=>add(type="a", value=JmesPath("{}", "foo[["));', /JmesPath query/],
    ['=>add(type="a", value=NegateBol(true));', /unknown function NegateBol/],
  ] as const) {
    const r = checkPolicy(wrap(rule));
    assert.equal(r.ok, false, rule);
    if (!r.ok) {
      assert.match(r.errors[0].message, re);
      assert.equal(r.errors[0].line, 1);
      assert.ok(r.errors[0].column > 40);
    }
  }
});

test('runtime type errors in functions fail the attestation with a reason', () => {
  const d = run('=>add(type="a", value=NegateBool("yes"));');
  assert.equal(d.permitted, false);
  assert.match(d.denyReason ?? '', /NegateBool: expected a Boolean/);
});

test('JmesPath queries JSON evidence kept as an object (x-ms-runtime)', () => {
  const d = compilePolicy('version=1.2; authorizationrules{ c:[type=="x-ms-runtime"] && [type=="x-ms-runtime", value==c.value] => add(type="kty", value=JsonToClaimValue(JmesPath(c.value, "keys[0].kty"))); [type=="kty", value=="RSA"] => permit(); };')
    .evaluate({ 'x-ms-runtime': { keys: [{ kty: 'RSA' }] } });
  assert.equal(d.permitted, true);
});
