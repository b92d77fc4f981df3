import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, compilePolicy, PolicyError } from '../../src/policy/index.js';
import { fixture, fixtureNames } from './helpers.js';

// Malformed policies give a located PolicyError, never another exception (issue 5).

/** The error is inside the text: a real line, and a column at most one past the end of that line. */
function assertLocated(text: string, e: unknown, what: string): asserts e is PolicyError {
  assert.ok(e instanceof PolicyError, `${what}: ${String(e)}`);
  assert.match(e.code, /^ERR_POLICY_(SYNTAX|VERSION|SEMANTIC)$/);
  const lines = text.split('\n');
  assert.ok(e.line >= 1 && e.line <= lines.length, `${what}: line ${e.line} of ${lines.length}`);
  assert.ok(e.column >= 1 && e.column <= lines[e.line - 1].length + 1, `${what}: column ${e.column} of line ${e.line} (${lines[e.line - 1].length} chars)`);
  assert.ok(e.message.includes(`line ${e.line}, column ${e.column}`), e.message);
}

function expectError(text: string, line: number, column: number, code: string, re: RegExp, opts = {}): PolicyError {
  let err: unknown;
  try {
    compilePolicy(text, opts);
  } catch (e) {
    err = e;
  }
  assert.ok(err !== undefined, `no error for ${JSON.stringify(text)}`);
  assertLocated(text, err, text);
  assert.deepEqual([err.line, err.column, err.code], [line, column, code], err.message);
  assert.match(err.reason, re);
  const r = checkPolicy(text, opts);
  assert.equal(r.ok, false);
  return err;
}

test('every truncation of every corpus policy is accepted or gives a located PolicyError', () => {
  let errors = 0, prefixes = 0;
  for (const name of fixtureNames()) {
    const text = fixture(name);
    for (const lenient of [false, true]) {
      for (let n = 0; n < text.length; n++) {
        const cut = text.slice(0, n);
        prefixes++;
        const r = checkPolicy(cut, { lenient });
        if (r.ok) continue;
        errors++;
        assertLocated(cut, r.errors[0], `${name}[0..${n}]`);
        assert.throws(() => compilePolicy(cut, { lenient }), PolicyError);
      }
    }
  }
  assert.ok(prefixes > 20000 && errors > prefixes * 0.9, `${errors} errors of ${prefixes} prefixes`);
});

test('a truncated policy reports the end of the text', () => {
  const p1 = fixture('p01-shared-default.txt');
  const cut = p1.slice(0, p1.length - 2);
  expectError(cut, 1, cut.length + 1, 'ERR_POLICY_SYNTAX', /closing issuancerules, found end of policy/);
  expectError('', 1, 1, 'ERR_POLICY_SYNTAX', /starts with version/);
  expectError('version=1.0;', 1, 13, 'ERR_POLICY_SYNTAX', /no authorizationrules/);
});

test('unbalanced brackets, braces and parentheses', () => {
  expectError('version=1.0;\nauthorizationrules{\n  [type=="a" => permit();\n};', 3, 14, 'ERR_POLICY_SYNTAX', /expected "," or "\]"/);
  expectError('version=1.0;\nauthorizationrules{\n  type=="a"] => permit();\n};', 3, 3, 'ERR_POLICY_SYNTAX', /unknown action type|expected/);
  expectError('version=1.0;\nauthorizationrules{\n  => permit(;\n};', 3, 13, 'ERR_POLICY_SYNTAX', /"\)"/);
  expectError('version=1.0;\nauthorizationrules{\n  => permit();\n;', 4, 1, 'ERR_POLICY_SYNTAX', /expected a condition/);
  expectError('version=1.0;\nauthorizationrules{\n  => permit();\n', 4, 1, 'ERR_POLICY_SYNTAX', /end of policy/);
  expectError('version=1.0;\nauthorizationrules\n  => permit();\n};', 3, 3, 'ERR_POLICY_SYNTAX', /"\{" after authorizationrules/);
  expectError('version=1.0;\nauthorizationrules{=> permit();}};', 2, 33, 'ERR_POLICY_SYNTAX', /";" after the closing/);
  expectError('version=1.2;\nauthorizationrules{=> add(type="a", value=JsonToClaimValue("1");};', 2, 64, 'ERR_POLICY_SYNTAX', /"," or "\)"/);
});

test('unknown action, missing arguments, permit with arguments', () => {
  expectError('version=1.0;\nauthorizationrules{\n  => allow();\n};', 3, 6, 'ERR_POLICY_SYNTAX', /unknown action allow/);
  expectError('version=1.0;\nauthorizationrules{\n  => permit(true);\n};', 3, 13, 'ERR_POLICY_SYNTAX', /takes no arguments/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{\n  => issue(type="a");\n};', 4, 6, 'ERR_POLICY_SEMANTIC', /needs both type= and value=/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{\n  => issue(kind="a", value=1);\n};', 4, 12, 'ERR_POLICY_SYNTAX', /expected an argument of issue/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{\n  => issue(type=="a", value=1);\n};', 4, 16, 'ERR_POLICY_SYNTAX', /use "=" to give type/);
});

test('bad operators', () => {
  expectError('version=1.0;\nauthorizationrules{[type=="a", value=<1] => permit();};', 2, 37, 'ERR_POLICY_SYNTAX', /"=" is not a comparison/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value===1] => permit();};', 2, 39, 'ERR_POLICY_SYNTAX', /expected a value/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value<>1] => permit();};', 2, 38, 'ERR_POLICY_SYNTAX', /expected a value/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value~1] => permit();};', 2, 37, 'ERR_POLICY_SYNTAX', /unexpected character "~"/);
  expectError('version=1.0;\nauthorizationrules{[type=="a"] || [type=="b"] => permit();};', 2, 32, 'ERR_POLICY_SYNTAX', /"\|\|" is not an operator/);
  expectError('version=1.0;\nauthorizationrules{[type=="a"] & [type=="b"] => permit();};', 2, 32, 'ERR_POLICY_SYNTAX', /"&" is not an operator/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value<"x"] => permit();};', 2, 32, 'ERR_POLICY_SEMANTIC', /operator < compares Integers/);
  expectError('version=1.0;\nauthorizationrules{[type>="a"] => permit();};', 2, 21, 'ERR_POLICY_SEMANTIC', /operator >= cannot compare type/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value>=true] => permit();};', 2, 32, 'ERR_POLICY_SEMANTIC', /operator >= compares Integers/);
});

test('features of a newer version in an older policy', () => {
  expectError('version=1.0;\nconfigurationrules{};\nauthorizationrules{=>permit();};', 2, 1, 'ERR_POLICY_VERSION', /configurationrules needs policy version 1.1/);
  expectError('version=1.1;\nauthorizationrules{![type=="a"] => permit();};', 2, 20, 'ERR_POLICY_VERSION', /absence test "!" needs policy version 1.2/);
  expectError('version=1.1;\nauthorizationrules{=> add(type="a", value=JmesPath("{}", "a"));};', 2, 43, 'ERR_POLICY_VERSION', /function JmesPath needs policy version 1.2/);
  expectError('version=1.3;\nauthorizationrules{=>permit();};', 1, 9, 'ERR_POLICY_VERSION', /unsupported policy version 1.3/);
  expectError('version=1;\nauthorizationrules{=>permit();};', 1, 9, 'ERR_POLICY_VERSION', /unsupported policy version 1/);
  // The same features are accepted in the version that has them.
  assert.ok(checkPolicy('version=1.1;\nconfigurationrules{};\nauthorizationrules{=>permit();};').ok);
  assert.ok(checkPolicy('version=1.2;\nauthorizationrules{![type=="a"] => add(type="a", value=JmesPath("{}", "a"));};').ok);
});

test('identifiers: unbound, used before binding, bound twice', () => {
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{[type=="a"] => issue(type="b", value=c.value);};', 3, 52, 'ERR_POLICY_SEMANTIC', /identifier c is not bound/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{[type=="a", value==d.value] && d:[type=="b"] => issue(type="b", value=d.value);};', 3, 34, 'ERR_POLICY_SEMANTIC', /used before the condition that binds it/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{c:[type=="a"] && c:[type=="b"] => issue(type="b", value=c.value);};', 3, 32, 'ERR_POLICY_SEMANTIC', /bound twice/);
  expectError('version=1.0;\nauthorizationrules{=>permit();};\nissuancerules{c:[type=="a"] => issue(claim=d);};', 3, 44, 'ERR_POLICY_SEMANTIC', /identifier d is not bound/);
});

test('strings: unterminated, typographic quotes, placeholders; located on the right line', () => {
  expectError('version=1.0;\nauthorizationrules{\n[type=="a] => permit();\n};', 3, 8, 'ERR_POLICY_SYNTAX', /string is not closed/);
  expectError('version=1.0;\nauthorizationrules{\n[type==\u201da\u201d] => permit();\n};', 3, 8, 'ERR_POLICY_SYNTAX', /typographic quote/);
  expectError('version=1.0;\nauthorizationrules{\n[type=="a", value==<svn>] => permit();\n};', 3, 20, 'ERR_POLICY_SYNTAX', /placeholder/);
  expectError('version=1.0;\n/* comment\nauthorizationrules{=>permit();};', 2, 1, 'ERR_POLICY_SYNTAX', /block comment is not closed/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value==1.5] => permit();};', 2, 39, 'ERR_POLICY_SYNTAX', /fractions/);
  expectError('version=1.0;\nauthorizationrules{[type=="a", value==99999999999999999999] => permit();};', 2, 39, 'ERR_POLICY_SYNTAX', /outside/);
});

test('checkPolicy reports every semantic error, in source order', () => {
  const r = checkPolicy('version=1.0;\nauthorizationrules{[type=="a", value<"x"] => permit(); [type>="b"] => permit();};\nissuancerules{=> issue(type="b", value=z.value);};');
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.errors.length, 3);
    assert.deepEqual(r.errors.map((e) => e.line), [2, 2, 3]);
  }
});

test('lenient mode accepts the doc typos with warnings, strict mode rejects them', () => {
  const text = 'version=1.0;\nauthorizationrules{\nc:[type="a"] => permit()\n};';
  expectError(text, 3, 8, 'ERR_POLICY_SYNTAX', /"=" is not a comparison/);
  const r = checkPolicy(text, { lenient: true });
  assert.equal(r.ok, true);
  if (r.ok) assert.deepEqual(r.warnings.map((w) => [w.line, w.column]), [[3, 8], [4, 1]]);
});

test('actions without effect in their section are accepted with a located warning', () => {
  const r = checkPolicy('version=1.0;\nauthorizationrules{=> issue(type="a", value=1); => permit();};\nissuancerules{\n  => deny();\n};');
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.deepEqual(r.warnings.map((w) => [w.line, w.column]), [[2, 23], [4, 6]]);
    assert.match(r.warnings[0].message, /acts as add/);
    assert.match(r.warnings[1].message, /no effect/);
  }
});

test('lint warnings: upper-case hex MRSIGNER literal, issuing a claim the service owns', () => {
  const r = checkPolicy('version=1.0;\nauthorizationrules{[type=="x-ms-sgx-mrsigner", value=="2C1A"] => permit();};\nissuancerules{=> issue(type="x-ms-sgx-svn", value=1); => issue(type="mine", value=1);};');
  assert.equal(r.ok, true);
  if (r.ok) {
    assert.deepEqual(r.warnings.map((w) => [w.line, w.column]), [[2, 55], [3, 29]]);
    assert.match(r.warnings[0].message, /upper-case hex/);
  }
  const clean = checkPolicy('version=1.0;\nauthorizationrules{[type=="x-ms-sgx-mrsigner", value=="2c1a"] => permit();};');
  assert.ok(clean.ok && clean.warnings.length === 0);
});
