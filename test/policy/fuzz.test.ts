import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkPolicy, compilePolicy, PolicyError } from '../../src/policy/index.js';
import { fixture, fixtureNames, tokenAIncoming } from './helpers.js';

// Property tests: the parser is total over strings (a located PolicyError or a policy, nothing else), and a
// compiled policy's evaluate never throws. The test finishing is the no-hang check.

const corpus = fixtureNames().map((n) => fixture(n));
const claims = tokenAIncoming();

function assertTotal(text: string, lenient: boolean): void {
  const r = checkPolicy(text, { lenient });
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    for (const e of r.errors) {
      assert.ok(e instanceof PolicyError, String(e));
      assert.ok(Number.isInteger(e.line) && e.line >= 1 && Number.isInteger(e.column) && e.column >= 1);
    }
    assert.throws(() => compilePolicy(text, { lenient }), PolicyError);
    return;
  }
  const p = compilePolicy(text, { lenient });
  const d = p.evaluate(claims);
  assert.equal(typeof d.permitted, 'boolean');
  assert.ok(Array.isArray(d.issuedClaims) && Array.isArray(d.matchedRules));
  if (!d.permitted) assert.equal(typeof d.denyReason, 'string');
}

const TOKENS = ['version', '=', '1.0', '1.1', '1.2', ';', '{', '}', '[', ']', '(', ')', '=>', '==', '!=', '<', '>=', '&&', '!', ':', ',', '.',
  'authorizationrules', 'issuancerules', 'configurationrules', 'permit', 'deny', 'issue', 'add', 'issueproperty', 'claim', 'c', 'type',
  'value', 'issuer', 'valueType', '"x-ms-sgx-svn"', '"', '\\', '1', '-1', 'true', 'JmesPath', 'JsonToClaimValue', 'NegateBool', '//', '/*', '*/', '\n', ' ', '\u201d'];

/** Random edits of a corpus policy: insert, delete or replace a span with random text or grammar tokens. */
const mutated = fc.tuple(
  fc.integer({ min: 0, max: corpus.length - 1 }),
  fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom(...TOKENS))), { minLength: 1, maxLength: 6 }),
).map(([i, edits]) => {
  let s = corpus[i];
  for (const [at, del, ins] of edits) {
    const p = s.length === 0 ? 0 : at % (s.length + 1);
    s = s.slice(0, p) + ins + s.slice(p + del);
  }
  return s;
});

test('random strings never crash the parser', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.boolean(), (s, lenient) => assertTotal(s, lenient)), { numRuns: 5000 });
  fc.assert(fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((a) => a.join(' ')), fc.boolean(), (s, lenient) => assertTotal(s, lenient)), { numRuns: 5000 });
});

test('mutations of corpus policies never crash the parser or the evaluator', () => {
  fc.assert(fc.property(mutated, fc.boolean(), (s, lenient) => assertTotal(s, lenient)), { numRuns: 10000 });
});

test('deeply nested calls and long inputs are errors, not stack overflows', () => {
  const deep = `version=1.2; authorizationrules{=> add(type="a", value=${'NegateBool('.repeat(5000)}true${')'.repeat(5000)});};`;
  assertTotal(deep, false);
  assert.equal(checkPolicy(deep).ok, false);
  const many = `version=1.0; authorizationrules{${'=>permit();'.repeat(20000)}};`;
  assert.equal(checkPolicy(many).ok, true);
  assertTotal('['.repeat(100000), false);
});

/** Well-formed policies from the grammar: they compile, and evaluation on real claims never throws. */
const claimType = fc.constantFrom('x-ms-sgx-svn', 'x-ms-sgx-mrsigner', 'x-ms-sgx-is-debuggable', 'x-ms-sgx-product-id', 'a', 'b');
const literal = fc.oneof(fc.integer({ min: -5, max: 5 }).map(String), fc.boolean().map(String), fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s)));
const cond = fc.tuple(fc.boolean(), claimType, fc.constantFrom('==', '!='), literal, fc.boolean())
  .map(([bind, t, op, lit, withValue]) => ({ bind, text: `[type=="${t}"${withValue ? `, value${op}${lit}` : ''}]` }));
const rule = (actions: string[]) => fc.tuple(fc.array(cond, { maxLength: 3 }), fc.constantFrom(...actions)).map(([cs, a]) => {
  const ids = cs.map((c, i) => (c.bind ? `c${i}` : ''));
  const first = ids.find((x) => x !== '');
  const act = a === 'issue' || a === 'add' ? `${a}(type="o", value=${first !== undefined ? `${first}.value` : '1'})` : `${a}()`;
  const conds = cs.map((c, i) => (ids[i] ? `${ids[i]}:` : '') + c.text);
  return `${conds.length ? conds.join(' && ') + ' ' : ''}=> ${act};`;
});
const policy = fc.tuple(fc.array(rule(['permit', 'deny', 'add']), { maxLength: 5 }), fc.array(rule(['issue', 'add']), { maxLength: 5 }))
  .map(([a, i]) => `version=1.0;\nauthorizationrules{\n${a.join('\n')}\n};\nissuancerules{\n${i.join('\n')}\n};`);

test('generated well-formed policies compile and evaluate', () => {
  fc.assert(fc.property(policy, (text) => {
    const r = checkPolicy(text);
    assert.equal(r.ok, true, `${text}\n${r.ok ? '' : r.errors[0].message}`);
    assertTotal(text, false);
  }), { numRuns: 2000 });
});

test('every compilable corpus policy evaluates arbitrary JSON claims without throwing', () => {
  const compiled = corpus.flatMap((t) => {
    for (const lenient of [false, true]) if (checkPolicy(t, { lenient }).ok) return [compilePolicy(t, { lenient })];
    return [];
  });
  assert.ok(compiled.length >= 25);
  const key = fc.constantFrom('x-ms-sgx-svn', 'x-ms-sgx-mrsigner', 'x-ms-sgx-is-debuggable', 'x-ms-attestation-type', 'events', 'bootEvents',
    'secureBootEnabled', 'aikValidated', 'OSName', 'enclaveSvn', '$is-debuggable', 'efiConfigVariables');
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)));
  const asMap = fc.dictionary(key, value, { maxKeys: 8 });
  const asArray = fc.array(fc.record({ type: key, value, issuer: fc.constantFrom('AttestationService', 'CustomClaim', 'AttestationPolicy') }), { maxLength: 8 });
  fc.assert(fc.property(fc.oneof(asMap, asArray), (claims) => {
    for (const p of compiled) {
      const d = p.evaluate(claims);
      assert.equal(typeof d.permitted, 'boolean');
      if (!d.permitted) assert.deepEqual(d.issuedClaims, []);
    }
  }), { numRuns: 1000 });
});
