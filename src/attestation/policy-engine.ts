import type { ClaimMap, PolicyEngine, PolicyOutcome } from './deps.js';
import { compilePolicy, DEFAULT_POLICIES, type Claim } from '../policy/index.js';
import { ConfkubeError } from '../lib/errors.js';
import { MAX_POLICY_CHARS } from './request-limits.js';

/** Issued claims as a map: a claim issued several times becomes an array (docs/policy.md §Issued claims). */
function issuedToMap(claims: readonly Claim[]): ClaimMap {
  const out: ClaimMap = {};
  for (const c of claims) {
    if (!(c.type in out)) out[c.type] = c.value;
    else out[c.type] = Array.isArray(out[c.type]) ? [...(out[c.type] as unknown[]), c.value] : [out[c.type], c.value];
  }
  return out;
}

/** src/policy as the service's PolicyEngine: compile once, evaluate the `{type: value}` claim map within a budget. */
export const policyEngine: PolicyEngine = {
  defaultPolicy: (t) => DEFAULT_POLICIES[t as keyof typeof DEFAULT_POLICIES] ?? DEFAULT_POLICIES.SgxEnclave,
  compile(text) {
    // Drafts, uploads and stored policies alike: compiling is linear in the text, so the text is what is bounded.
    if (text.length > MAX_POLICY_CHARS) throw new ConfkubeError('ERR_POLICY_TOO_LARGE', `policy text is ${text.length} characters, more than ${MAX_POLICY_CHARS}`);
    const compiled = compilePolicy(text);
    return {
      evaluate(claims, budget): PolicyOutcome {
        const d = compiled.evaluate(claims, budget);
        return { permit: d.permitted, issued: issuedToMap(d.issuedClaims), ...(d.denyReason ? { reason: d.denyReason } : {}), ...(d.exhausted ? { exhausted: true } : {}) };
      },
    };
  },
};
