// The evaluation budget of src/policy: steps and time (with an injected clock), and JSON literals parsed once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePolicy, type Claim } from '../../src/policy/index.js';
import { svc } from './helpers.js';

const claims: Claim[] = Array.from({ length: 20 }, (_, i) => svc(`c${i}`, i));
const literal = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ a: i })));
const joinPolicy = `version=1.2; authorizationrules { => permit(); }; issuancerules {
  c1:[issuer=="AttestationService"] && c2:[issuer=="AttestationService"] => issue(type="n", value=JmesPath(${JSON.stringify(literal)}, "length([*].a)"));
};`;

test('a JSON text literal is parsed when the policy compiles, not at each of the 400 calls', () => {
  const p = compilePolicy(joinPolicy);
  const parse = JSON.parse;
  let parsed = 0;
  JSON.parse = ((text: string, ...rest: []) => {
    if (text === literal) parsed++;
    return parse(text, ...rest);
  }) as typeof JSON.parse;
  try {
    const d = p.evaluate(claims);
    assert.equal(d.permitted, true);
    assert.deepEqual(d.issuedClaims.map((c) => c.value), ['200']);
  } finally {
    JSON.parse = parse;
  }
  assert.equal(parsed, 0);
});

test('steps: each call is charged for the JSON it reads; running out refuses, marked exhausted', () => {
  const p = compilePolicy(joinPolicy);
  // 400 combinations, each reading a 601-node literal: about 240,000 steps.
  assert.equal(p.evaluate(claims, { maxSteps: 300_000 }).permitted, true);
  const d = p.evaluate(claims, { maxSteps: 100_000 });
  assert.equal(d.permitted, false);
  assert.equal(d.exhausted, true);
  assert.match(d.denyReason!, /JmesPath: evaluation budget of 100000 steps exhausted/);
  const denied = compilePolicy('version=1.0; authorizationrules { => deny(); };').evaluate(claims, { maxSteps: 10 });
  assert.equal(denied.exhausted, undefined, 'a denial is not an exhausted budget');
});

test('time: a clock past the deadline stops the evaluation', () => {
  let t = 0;
  const d = compilePolicy(joinPolicy).evaluate(claims, { maxMs: 50, now: () => (t += 1) });
  assert.equal(d.exhausted, true);
  assert.match(d.denyReason!, /time budget exhausted/);
});

test('a query whose result multiplies the document is stopped before it is serialised', () => {
  const p = compilePolicy(`version=1.2; authorizationrules { => permit(); }; issuancerules {
    => issue(type="x", value=JmesPath("[1,2,3,4,5,6,7,8]", "${'[@, @] | '.repeat(40)}@"));
  };`);
  const d = p.evaluate([]);
  assert.equal(d.exhausted, true);
});
