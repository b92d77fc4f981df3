import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.js';
import { TOKEN_A_LEGACY, tokenAIncoming } from './helpers.js';

const fx = (name: string) => fileURLToPath(new URL(`../fixtures/policy/${name}`, import.meta.url));
let dir = '';
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

before(() => { dir = mkdtempSync(join(tmpdir(), 'confkube-policy-')); });
after(() => { rmSync(dir, { recursive: true, force: true }); });

test('policy check: ok with the policy hash, exit 0', () => {
  const r = runCli(['policy', 'check', fx('p01-shared-default.txt')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /: ok \(x-ms-policy-hash bROrN897ZfWmWY2V0FLUlu3uwk5xatGnKYHn3zBbSlw\)/);
});

test('policy check: FILE:line:column: message, exit 1; --lenient turns doc typos into warnings', () => {
  const p = fx('p16-author-sign-typos.txt');
  const r = runCli(['policy', 'check', p]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout.trim(), `${p}:4:11: "=" is not a comparison: use "==" in a condition`);
  const l = runCli(['policy', 'check', '--lenient', p]);
  assert.equal(l.status, 0, l.stdout);
  assert.match(l.stdout, new RegExp(`${p.replace(/[.]/g, '\\.')}:4:11: warning:`));
  const j = runCli(['policy', 'check', '--json', fx('p03-sample-placeholders.txt')]);
  assert.equal(j.status, 1);
  assert.deepEqual(JSON.parse(j.stdout).errors.map((e: { line: number; column: number; code: string }) => [e.line, e.column, e.code]), [[5, 50, 'ERR_POLICY_SYNTAX']]);
});

test('policy eval: permit with the issued claims (object map claims), exit 0', () => {
  const claims = file('a.json', JSON.stringify(tokenAIncoming()));
  const r = runCli(['policy', 'eval', fx('p02-default-v11.txt'), '--claims', claims, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.permitted, true);
  assert.deepEqual(Object.fromEntries(j.issuedClaims.map((c: { type: string; value: unknown }) => [c.type, c.value])), TOKEN_A_LEGACY);
  assert.deepEqual(j.issuedProperties, [{ type: 'x-ms-sgx-tcbidentifier', value: 'azuredefault', issuer: 'AttestationPolicy' }]);
  const h = runCli(['policy', 'eval', fx('p01-shared-default.txt'), '--claims', claims]);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^permit\nissued claims:\n {2}is-debuggable = false\n/);
});

test('policy eval: deny with the reason, exit 1 (claims as an array)', () => {
  const claims = file('dbg.json', JSON.stringify([{ type: 'x-ms-sgx-is-debuggable', value: true }]));
  const r = runCli(['policy', 'eval', fx('p09-signed-sample.txt'), '--claims', claims]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^deny: deny\(\) fired: authorizationrules rule at line 1/);
});

test('policy eval: bad usage exits 2', () => {
  const good = fx('p01-shared-default.txt');
  const claims = file('ok.json', '{}');
  assert.equal(runCli(['policy', 'eval', good]).status, 2); // no --claims
  assert.equal(runCli(['policy', 'eval', good, '--claims', file('bad.json', '{nope')]).status, 2);
  assert.equal(runCli(['policy', 'eval', good, '--claims', file('num.json', '42')]).status, 2);
  assert.equal(runCli(['policy', 'eval', good, '--claims', file('el.json', '[{"value":1}]')]).status, 2);
  assert.equal(runCli(['policy', 'eval', join(dir, 'missing.txt'), '--claims', claims]).status, 2);
  const bad = runCli(['policy', 'eval', fx('p03-sample-placeholders.txt'), '--claims', claims]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /p03-sample-placeholders\.txt:5:50: /);
});

test('policy hash and policy default', () => {
  const r = runCli(['policy', 'hash', fx('p14a-sdk-permit.txt')]);
  assert.equal(r.stdout, 'z0FRjKS0ssQTNur1V6BV8WIrh9M3fzgTo0EfHRvapWU\n');
  const d = runCli(['policy', 'default']);
  assert.equal(d.status, 0);
  assert.equal(d.stdout.startsWith('version= 1.0;authorizationrules{=> permit();};'), true);
  assert.equal(runCli(['policy', 'default', '--type', 'Tpm']).status, 2);
  assert.equal(runCli(['policy', '--help']).status, 0);
});
