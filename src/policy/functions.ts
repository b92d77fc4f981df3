import jmespath from 'jmespath';
import type { FunctionName } from './ast.js';
import { valuesEqual } from './claims.js';
import { PolicyRuntimeError } from './errors.js';

/** `JsonToClaimValue` of JSON `null`: an empty value, so the issue/add that receives it does nothing (docs/policy.md §Functions). */
export const EMPTY: unique symbol = Symbol('empty claim value');

export const ARITY: Record<FunctionName, number> = {
  JmesPath: 2, JsonToClaimValue: 1, IsSubsetOf: 2, AppendString: 2, NegateBool: 1, ContainsOnlyValue: 2,
};

const describe = (v: unknown): string => {
  if (v === EMPTY) return 'an empty value';
  if (Array.isArray(v)) return 'a set';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'a JSON object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
};

/** Parse a JMESPath query; the error message if it is not one (used at compile time for literal queries). */
export function jmesPathSyntaxError(query: string): string | null {
  try {
    (jmespath as unknown as { compile(q: string): unknown }).compile(query);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

function jsonInput(v: unknown, fn: string): unknown {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v);
    } catch {
      throw new PolicyRuntimeError(`${fn}: argument is not JSON text: ${JSON.stringify(v.slice(0, 60))}`);
    }
  }
  // Evidence kept as JSON (x-ms-runtime, sets) is queried as is.
  if (v !== null && typeof v === 'object') return v;
  throw new PolicyRuntimeError(`${fn}: expected JSON text, got ${describe(v)}`);
}

function asSet(v: unknown, fn: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [v];
  throw new PolicyRuntimeError(`${fn}: expected a set, got ${describe(v)}`);
}

/** The 1.2 functions (docs/policy.md §Functions, MS docs claim-rule-functions). Errors fail the attestation (docs/policy.md §Function errors). */
export const FUNCTIONS: Record<FunctionName, (args: unknown[]) => unknown> = {
  JmesPath([json, query]) {
    if (typeof query !== 'string' || query === '') throw new PolicyRuntimeError(`JmesPath: the query must be a non-empty string, got ${describe(query)}`);
    if (json === '') throw new PolicyRuntimeError('JmesPath: the JSON argument is empty');
    const doc = jsonInput(json, 'JmesPath');
    let r: unknown;
    try {
      r = jmespath.search(doc, query);
    } catch (e) {
      throw new PolicyRuntimeError(`JmesPath: ${(e as Error).message}`);
    }
    // MAA returns JSON text; JsonToClaimValue turns it into a claim value.
    return JSON.stringify(r ?? null);
  },
  JsonToClaimValue([json]) {
    const v = jsonInput(json, 'JsonToClaimValue');
    return toClaimValue(v);
  },
  IsSubsetOf([a, b]) {
    const sa = asSet(a, 'IsSubsetOf'), sb = asSet(b, 'IsSubsetOf');
    return sa.every((x) => sb.some((y) => valuesEqual(x, y)));
  },
  AppendString([a, b]) {
    if (typeof a !== 'string' || typeof b !== 'string') throw new PolicyRuntimeError(`AppendString: expected two strings, got ${describe(a)} and ${describe(b)}`);
    return a + b;
  },
  NegateBool([b]) {
    if (typeof b !== 'boolean') throw new PolicyRuntimeError(`NegateBool: expected a Boolean, got ${describe(b)}`);
    return !b;
  },
  ContainsOnlyValue([set, v]) {
    const s = asSet(set, 'ContainsOnlyValue');
    return s.length > 0 && s.every((x) => valuesEqual(x, v));
  },
};

function isPrimitive(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v));
}

/** JSON → claim value (docs/policy.md §Functions): integer, Boolean, string; array of those → set; null → empty; anything else fails. */
function toClaimValue(v: unknown): unknown {
  if (v === null) return EMPTY;
  if (isPrimitive(v)) return v;
  if (typeof v === 'number') throw new PolicyRuntimeError(`JsonToClaimValue: ${v} is not an integer claim value`);
  if (Array.isArray(v)) {
    for (const x of v) {
      if (!isPrimitive(x)) throw new PolicyRuntimeError(`JsonToClaimValue: a set may hold integers, Booleans and strings only, found ${describe(x)}`);
    }
    const out: unknown[] = [];
    for (const x of v) if (!out.includes(x)) out.push(x);
    return out;
  }
  throw new PolicyRuntimeError('JsonToClaimValue: a JSON object is not a claim value');
}
