// Hostile draft policies (draftPolicyForAttestation needs no credentials) against the service over HTTPS: they are
// evaluated on worker threads under a step and wall-time budget, fail with 400 in the service's error body, and
// never hold up other requests. Assertions are on order and outcome, never on elapsed time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request, REAL_CASE } from '../attestation/helpers/harness.js';
import { startHardened } from './helpers.js';
import { unsecuredPolicyJws } from '../../src/attestation/index.js';

const T = { timeout: 120_000 };
const quote = readFileSync(REAL_CASE.quote).toString('base64url');
const policyString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * ~45 KB: every `ways`-tuple of evidence claims (hundreds of thousands for 4) runs a projection over a 5,000-element
 * literal. Six ways is beyond any machine's wall-time budget (the count grows as claims^6), so a test that needs the
 * drafts still running when it looks does not depend on how fast the machine is.
 */
function joinOverLiteral(ways = 4): string {
  const literal = JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ a: i })));
  const join = Array.from({ length: ways }, (_, i) => `c${i + 1}:[issuer=="AttestationService"]`).join(' && ');
  return `version=1.2; authorizationrules { => permit(); }; issuancerules {
    ${join}
      => issue(type="x", value=JmesPath(${policyString(literal)}, "length([*].a)"));
  };`;
}

/** One uninterruptible call: `[@, @]` doubles the document 28 times and to_string serialises all of it. */
function exponentialToString(): string {
  return `version=1.2; authorizationrules { => permit(); }; issuancerules {
    => issue(type="x", value=JmesPath("[1,2,3,4,5,6,7,8]", "${'[@, @] | '.repeat(28)}to_string(@)"));
  };`;
}

const draft = (r: Awaited<ReturnType<typeof startHardened>>, policy: string) =>
  request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote, draftPolicyForAttestation: policy }), { 'content-type': 'application/json' });

function assertBudgetRefusal(res: { status: number; text: string }): void {
  assert.equal(res.status, 400, res.text);
  const e = JSON.parse(res.text).error;
  assert.equal(e.code, 'PolicyEvaluationError', res.text);
  assert.match(e.message, /^draftPolicyForAttestation: .*budget/, res.text);
}

test('GET /certs and a plain attestation are answered while hostile drafts are still being evaluated', T, async () => {
  // Steps unbounded here so the drafts run until their wall-time budget; two threads, both kept busy.
  const r = await startHardened({ policyBudget: { maxSteps: Number.MAX_SAFE_INTEGER, maxMs: 8000 }, draftPool: { workers: 2 } });
  try {
    let hostileDone = 0;
    // One hostile draft per thread: both threads busy for the whole budget, none left to answer anything else.
    const hostile = Array.from({ length: 2 }, () => draft(r, joinOverLiteral(6)).then((res) => {
      hostileDone++;
      return res;
    }));
    while (r.svc.ctx.drafts.load.running < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const certs = await request(r, 'GET', '/certs');
    assert.equal(certs.status, 200);
    assert.equal(hostileDone, 0, '/certs answered while every hostile draft was still pending');
    const plain = await request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote }), { 'content-type': 'application/json' });
    assert.equal(plain.status, 200, plain.text);
    assert.equal(hostileDone, 0, 'a plain attestation answered while every hostile draft was still pending');
    assert.ok(r.svc.ctx.drafts.load.running > 0);
    for (const res of await Promise.all(hostile)) assertBudgetRefusal(res);
  } finally {
    await r.stop();
  }
});

test('a draft that runs out of steps fails with 400 PolicyEvaluationError', T, async () => {
  const r = await startHardened();
  try {
    const res = await draft(r, joinOverLiteral());
    assertBudgetRefusal(res);
    assert.match(JSON.parse(res.text).error.message, /1000000 steps/);
  } finally {
    await r.stop();
  }
});

test('a draft stuck in one uninterruptible call is stopped with its thread; the next draft runs on a fresh one', T, async () => {
  const r = await startHardened({ policyBudget: { maxMs: 500 }, draftPool: { workers: 1 } });
  try {
    assertBudgetRefusal(await draft(r, exponentialToString()));
    const ok = await draft(r, 'version=1.0; authorizationrules { => permit(); };');
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await r.stop();
  }
});

test('drafts beyond the queue are refused with 429 in the service error body', T, async () => {
  const r = await startHardened({ policyBudget: { maxSteps: Number.MAX_SAFE_INTEGER, maxMs: 3000 }, draftPool: { workers: 1, maxQueue: 1 } });
  try {
    const answers = await Promise.all(Array.from({ length: 4 }, () => draft(r, joinOverLiteral(6))));
    const codes = answers.map((a) => `${a.status} ${JSON.parse(a.text).error?.code}`);
    assert.ok(codes.includes('429 TooManyRequests'), codes.join(', '));
    for (const a of answers.filter((x) => x.status !== 429)) assertBudgetRefusal(a);
  } finally {
    await r.stop();
  }
});

test('the policy in force is evaluated under the same step budget', T, async () => {
  const r = await startHardened({ policyBudget: { maxSteps: 1000 } });
  try {
    const put = await request(r, 'PUT', '/policies/SgxEnclave?api-version=2022-08-01', unsecuredPolicyJws(joinOverLiteral()), { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
    assert.ok(put.status === 200, put.text);
    const res = await request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote }), { 'content-type': 'application/json' });
    assert.equal(res.status, 400, res.text);
    assert.equal(JSON.parse(res.text).error.code, 'PolicyEvaluationError');
    assert.match(JSON.parse(res.text).error.message, /^policy: .*1000 steps/);
  } finally {
    await r.stop();
  }
});
