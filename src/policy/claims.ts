/**
 * Claims as the policy engine sees them (docs/policy.md §Claims). A value is a Boolean, an Integer, a String, a set
 * (a JS array: `JsonToClaimValue` on a JSON array, or a multi-valued evidence claim such as advisory IDs) or a
 * JSON object (evidence such as `x-ms-sgx-collateral`, `x-ms-runtime`).
 */
export interface Claim { type: string; value: unknown; issuer?: string }

export const ISSUER_SERVICE = 'AttestationService';
export const ISSUER_POLICY = 'AttestationPolicy';

/** A claim inside the engine: the issuer is always known. */
export interface EClaim { type: string; value: unknown; issuer: string }

/** The value type names of docs/policy.md §Claims ("String, Integer and Boolean"), plus Set and Json for the 1.2 data shapes. */
export function valueTypeOf(v: unknown): string {
  switch (typeof v) {
    case 'boolean': return 'Boolean';
    case 'number': return 'Integer';
    case 'string': return 'String';
    default: return Array.isArray(v) ? 'Set' : 'Json';
  }
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A claim set indexed by type, so a condition with `type == "literal"` looks at that type's claims only.
 * Identical (type, value, issuer) claims are kept once (docs/policy.md §Claims).
 */
export class ClaimSet {
  readonly list: EClaim[] = [];
  readonly byType = new Map<string, EClaim[]>();

  /** Adds without the duplicate check: evidence claims are distinct by construction. */
  push(c: EClaim): void {
    this.list.push(c);
    const l = this.byType.get(c.type);
    if (l === undefined) this.byType.set(c.type, [c]);
    else l.push(c);
  }

  /** Adds unless an identical claim is present; returns whether it was added. */
  add(c: EClaim): boolean {
    const l = this.byType.get(c.type);
    if (l !== undefined) {
      for (const o of l) if (o.issuer === c.issuer && valuesEqual(o.value, c.value)) return false;
    }
    this.push(c);
    return true;
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }
}

/**
 * Legacy claim types the pre-2021 default policy and Microsoft's JWS samples test (`$is-debuggable`, ...;
 * docs/policy.md §Legacy claims), derived from the current names when the caller did not supply them.
 */
export const LEGACY_ALIASES: readonly (readonly [string, string])[] = [
  ['$is-debuggable', 'x-ms-sgx-is-debuggable'],
  ['$sgx-mrsigner', 'x-ms-sgx-mrsigner'],
  ['$sgx-mrenclave', 'x-ms-sgx-mrenclave'],
  ['$product-id', 'x-ms-sgx-product-id'],
  ['$svn', 'x-ms-sgx-svn'],
  ['$tee', 'x-ms-attestation-type'],
  ['$maa-ehd', 'x-ms-sgx-ehd'],
  ['$aas-ehd', 'x-ms-sgx-ehd'],
  ['$maa-attestationcollateral', 'x-ms-sgx-collateral'],
];

/**
 * The incoming claim set of one evaluation, with the legacy `$` aliases when `legacyAliases` (only policies
 * that test a `$` type see them, so a policy written with current names never binds a duplicate). Accepts a Claim array or a `{type: value}` map (what the
 * attestation service builds); input claims without an issuer are evidence, issuer AttestationService (docs/policy.md §Claims).
 */
export function incomingClaimSet(input: readonly Claim[] | Readonly<Record<string, unknown>>, legacyAliases = true): ClaimSet {
  const set = new ClaimSet();
  if (Array.isArray(input)) {
    for (const c of input as readonly Claim[]) {
      if (c === null || typeof c !== 'object' || typeof c.type !== 'string' || c.value === undefined) continue;
      set.add({ type: c.type, value: c.value, issuer: typeof c.issuer === 'string' ? c.issuer : ISSUER_SERVICE });
    }
  } else if (input !== null && typeof input === 'object') {
    for (const type in input) {
      const value = (input as Record<string, unknown>)[type];
      if (value === undefined || value === null) continue;
      set.push({ type, value, issuer: ISSUER_SERVICE });
    }
  }
  if (!legacyAliases) return set;
  for (const [alias, name] of LEGACY_ALIASES) {
    if (set.byType.has(alias)) continue;
    const l = set.byType.get(name);
    if (l === undefined) continue;
    for (const c of l) if (c.issuer === ISSUER_SERVICE) set.push({ type: alias, value: c.value, issuer: ISSUER_SERVICE });
  }
  return set;
}
