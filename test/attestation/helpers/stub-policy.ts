// A deliberately small stand-in for src/policy (MAA grammar subset: permit/deny rules with one condition,
// and `c:[type=="T"] => issue(type="X", value=c.value);`), so the service tests do not depend on the
// policy language's progress. The real engine is exercised through the same PolicyEngine interface.
import type { ClaimMap, PolicyEngine } from '../../../src/attestation/index.js';
import { ConfkubeError } from '../../../src/lib/errors.js';

export const P1 = 'version= 1.0;authorizationrules{=> permit();};issuancerules{c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);};';

function literal(s: string): unknown {
  s = s.trim();
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+$/.test(s)) return Number(s);
  if (/^".*"$/.test(s)) return s.slice(1, -1);
  throw new ConfkubeError('ERR_POLICY_SYNTAX', `bad literal ${s}`);
}

export const stubPolicyEngine: PolicyEngine = {
  defaultPolicy: () => P1,
  compile(text: string) {
    const m = /^\s*version\s*=\s*1\.\d\s*;\s*authorizationrules\s*\{([\s\S]*?)\}\s*;\s*(?:issuancerules\s*\{([\s\S]*?)\}\s*;)?\s*$/i.exec(text);
    if (!m) throw new ConfkubeError('ERR_POLICY_SYNTAX', 'policy: syntax error');
    const rule = /\s*(?:c:\[type=="([^"]+)"(?:\s*,\s*value\s*==\s*([^\]]+))?\])?\s*=>\s*(permit|deny)\(\)\s*;/y;
    const authz: { type?: string; value?: unknown; action: string }[] = [];
    const a = m[1];
    rule.lastIndex = 0;
    while (rule.lastIndex < a.trim().length + (a.length - a.trimStart().length)) {
      const r = rule.exec(a);
      if (!r) throw new ConfkubeError('ERR_POLICY_SYNTAX', 'policy: bad authorization rule');
      authz.push({ ...(r[1] ? { type: r[1] } : {}), ...(r[2] ? { value: literal(r[2]) } : {}), action: r[3] });
    }
    const issues: { from: string; to: string }[] = [];
    for (const r of (m[2] ?? '').matchAll(/c:\[type=="([^"]+)"\]\s*=>\s*issue\(type="([^"]+)",\s*value=c\.value\);/g)) issues.push({ from: r[1], to: r[2] });
    return {
      evaluate(claims: ClaimMap) {
        let permit = false;
        let deny = false;
        for (const r of authz) {
          const holds = r.type === undefined || (r.type in claims && (r.value === undefined || claims[r.type] === r.value));
          if (holds && r.action === 'permit') permit = true;
          if (holds && r.action === 'deny') deny = true;
        }
        const issued: ClaimMap = {};
        for (const i of issues) if (i.from in claims) issued[i.to] = claims[i.from];
        return { permit: permit && !deny, issued, ...(deny ? { reason: 'a deny() rule matched' } : {}) };
      },
    };
  },
};
