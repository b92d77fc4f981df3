import type { AttestationStore, ClaimMap, PolicyEngine, PolicyOutcome } from './deps.js';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfkubeError } from '../lib/errors.js';
import { createPlatform, loadPlatform, writePlatform, PLATFORM_FILE, type SimPlatform } from '../sim/index.js';

/**
 * The service's production collaborators: the store (src/store) and the policy language (src/policy) loaded at
 * run time, and the simulated platform (src/sim). Loaded by specifier so the service builds and its tests run
 * on injected stand-ins while those parts evolve; a missing part is a clear error, not a crash.
 */
async function load<T>(spec: string, what: string): Promise<T> {
  try {
    return (await import(spec)) as T;
  } catch (e) {
    throw new ConfkubeError('ERR_MISSING_PART', `${what} (${spec}) is not available: ${(e as Error).message}`);
  }
}

export async function openServiceStore(url: string): Promise<AttestationStore> {
  const m = await load<{ openStore(url: string): Promise<AttestationStore> }>('../store/index.js', 'the store');
  return m.openStore(url);
}

interface PolicyModule {
  compilePolicy(text: string): { evaluate(claims: unknown): unknown };
  DEFAULT_POLICIES?: Record<string, string>;
}

/** Issued claims as a map: a claim issued several times becomes an array (spec maa.md §3.4-9). */
function issuedToMap(v: unknown): ClaimMap {
  if (!v) return {};
  if (Array.isArray(v)) {
    const out: ClaimMap = {};
    for (const c of v as { type: string; value: unknown }[]) {
      if (!(c.type in out)) out[c.type] = c.value;
      else out[c.type] = Array.isArray(out[c.type]) ? [...(out[c.type] as unknown[]), c.value] : [out[c.type], c.value];
    }
    return out;
  }
  return v as ClaimMap;
}

/** Adapt src/policy's `compilePolicy(text).evaluate(claims)` to the service's PolicyEngine. */
export function adaptPolicyModule(m: PolicyModule, fallbackDefault: string): PolicyEngine {
  return {
    defaultPolicy: (t) => m.DEFAULT_POLICIES?.[t] ?? m.DEFAULT_POLICIES?.SgxEnclave ?? fallbackDefault,
    compile(text) {
      const compiled = m.compilePolicy(text);
      return {
        evaluate(claims: ClaimMap): PolicyOutcome {
          const r = compiled.evaluate(claims) as Record<string, unknown>;
          const permit = r.permit ?? r.permitted ?? r.allowed ?? (r.decision === undefined ? undefined : r.decision === 'permit');
          return {
            permit: permit === true,
            issued: issuedToMap(r.issued ?? r.issuedClaims ?? r.outgoing ?? r.claims),
            ...(typeof r.reason === 'string' ? { reason: r.reason } : {}),
          };
        },
      };
    },
  };
}

/** The shared providers' default SGX policy, byte-exact (spec maa.md §3.8 P1): its hash appears in real MAA tokens. */
export const MAA_DEFAULT_SGX_POLICY = 'version= 1.0;authorizationrules{=> permit();};issuancerules{c:[type=="x-ms-sgx-is-debuggable"] => issue(type="is-debuggable", value=c.value);c:[type=="x-ms-sgx-mrsigner"] => issue(type="sgx-mrsigner", value=c.value);c:[type=="x-ms-sgx-mrenclave"] => issue(type="sgx-mrenclave", value=c.value);c:[type=="x-ms-sgx-product-id"] => issue(type="product-id", value=c.value);c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value);c:[type=="x-ms-attestation-type"] => issue(type="tee", value=c.value);};';

export async function loadPolicyEngine(): Promise<PolicyEngine> {
  return adaptPolicyModule(await load<PolicyModule>('../policy/index.js', 'the policy language'), MAA_DEFAULT_SGX_POLICY);
}

/**
 * The simulated platform kept in DIR (src/sim's platform directory), created on first use: a fresh seed, so each
 * data folder has its own simulated root.
 */
export async function simulatedPlatformIn(dir: string): Promise<{ platform: SimPlatform; created: boolean }> {
  if (existsSync(join(dir, PLATFORM_FILE))) return { platform: loadPlatform(dir), created: false };
  mkdirSync(dir, { recursive: true });
  const platform = createPlatform({});
  writePlatform(platform, dir);
  return { platform, created: true };
}
