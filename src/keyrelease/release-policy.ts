import { KeyReleaseError } from './errors.js';
import { parseRequirements, type ReleaseRequirements } from './requirements.js';

/**
 * Azure Key Vault Secure Key Release policy (docs/keyrelease.md §Release policy): `{"version":"1.0.0","anyOf":[{authority, allOf|anyOf:[…]}]}`,
 * a condition is `{"claim": "<name, dot path>", "<op>": value}`. A missing claim makes a condition false; values
 * compare by JSON type, no coercion (`"false"` never equals `false`).
 */
export type ReleasePolicy = {
  version: string;
  anyOf: Authority[];
  /** confkube's requirements on every release (requirements.ts); absent: the safe defaults. */
  confkube?: ReleaseRequirements;
};
interface Authority { authority: string; allOf?: Condition[]; anyOf?: Condition[] }
type Condition = { claim: string; [op: string]: unknown } | { allOf: Condition[] } | { anyOf: Condition[] };

const OPS = ['equals', 'notEquals', 'less', 'lessOrEquals', 'greater', 'greaterOrEquals', 'exists'] as const;

function bad(msg: string): KeyReleaseError {
  return new KeyReleaseError(400, 'InvalidReleasePolicy', `release policy: ${msg}`);
}

function checkCondition(c: unknown, where: string): void {
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw bad(`${where}: not an object`);
  const o = c as Record<string, unknown>;
  if ('allOf' in o || 'anyOf' in o) {
    const list = o.allOf ?? o.anyOf;
    if (!Array.isArray(list) || list.length === 0) throw bad(`${where}: allOf/anyOf must be a non-empty array`);
    list.forEach((x, i) => checkCondition(x, `${where}.${'allOf' in o ? 'allOf' : 'anyOf'}[${i}]`));
    return;
  }
  if (typeof o.claim !== 'string' || o.claim === '') throw bad(`${where}: "claim" must be a string`);
  const ops = Object.keys(o).filter((k) => k !== 'claim');
  if (ops.length !== 1 || !(OPS as readonly string[]).includes(ops[0])) throw bad(`${where}: exactly one operator of ${OPS.join(', ')}`);
  const v = o[ops[0]];
  if (v !== null && typeof v === 'object') throw bad(`${where}: objects and arrays are not allowed as values`);
}

export function parseReleasePolicy(json: unknown): ReleasePolicy {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object');
  const p = json as Record<string, unknown>;
  if (typeof p.version !== 'string' || !/^1\.\d+\.\d+$/.test(p.version)) throw bad('"version" must be "1.0.0"');
  if (!Array.isArray(p.anyOf) || p.anyOf.length === 0) throw bad('"anyOf" must be a non-empty array of authorities');
  p.anyOf.forEach((a, i) => {
    if (!a || typeof a !== 'object' || typeof (a as Authority).authority !== 'string') throw bad(`anyOf[${i}]: "authority" must be a string`);
    const list = (a as Authority).allOf ?? (a as Authority).anyOf;
    if (!Array.isArray(list) || list.length === 0) throw bad(`anyOf[${i}]: allOf or anyOf conditions required`);
    list.forEach((c, j) => checkCondition(c, `anyOf[${i}].${(a as Authority).allOf ? 'allOf' : 'anyOf'}[${j}]`));
  });
  return { ...(p as unknown as ReleasePolicy), confkube: parseRequirements(p.confkube) };
}

function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let v: unknown = claims;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function holds(c: Condition, claims: Record<string, unknown>): boolean {
  if ('allOf' in c) return (c.allOf as Condition[]).every((x) => holds(x, claims));
  if ('anyOf' in c) return (c.anyOf as Condition[]).some((x) => holds(x, claims));
  const v = claimAt(claims, c.claim);
  const [op] = Object.keys(c).filter((k) => k !== 'claim');
  const want = (c as Record<string, unknown>)[op];
  if (op === 'exists') return (v !== undefined) === (want !== false);
  if (v === undefined) return false;
  switch (op) {
    case 'equals': return v === want;
    case 'notEquals': return v !== want && typeof v === typeof want;
    case 'less': return typeof v === 'number' && typeof want === 'number' && v < want;
    case 'lessOrEquals': return typeof v === 'number' && typeof want === 'number' && v <= want;
    case 'greater': return typeof v === 'number' && typeof want === 'number' && v > want;
    case 'greaterOrEquals': return typeof v === 'number' && typeof want === 'number' && v >= want;
    default: return false;
  }
}

/** True when some authority equals the token's `iss` and its conditions hold on the token's claims. */
export function releaseAllowed(policy: ReleasePolicy, claims: Record<string, unknown>): boolean {
  return policy.anyOf.some((a) => a.authority.replace(/\/+$/, '') === String(claims.iss ?? '').replace(/\/+$/, '')
    && (a.allOf ? a.allOf.every((c) => holds(c, claims)) : (a.anyOf ?? []).some((c) => holds(c, claims))));
}
