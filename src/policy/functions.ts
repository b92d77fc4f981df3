import jmespath from 'jmespath';
import type { FunctionName } from './ast.js';
import { valuesEqual } from './claims.js';
import { PolicyRuntimeError } from './errors.js';
import { jsonNodes, type Meter } from './budget.js';

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

/** A JSON text literal of the policy, parsed once when the policy is compiled; `nodes` is what reading it costs. */
export class ParsedJson {
  constructor(readonly value: unknown, readonly nodes: number) {}

  /** The literal parsed, or null when it is not JSON text (the call then fails when it runs, as before parsing). */
  static of(text: string): ParsedJson | null {
    try {
      const value: unknown = JSON.parse(text);
      return new ParsedJson(value, jsonNodes(value, Number.MAX_SAFE_INTEGER));
    } catch {
      return null;
    }
  }
}

function jsonInput(v: unknown, fn: string, m: Meter): unknown {
  if (v instanceof ParsedJson) {
    m.charge(v.nodes, fn);
    return v.value;
  }
  if (typeof v === 'string') {
    // Parsing costs about one step per 16 characters; the parsed document has fewer nodes than that.
    m.charge(Math.ceil(v.length / 16), fn);
    try {
      return JSON.parse(v);
    } catch {
      throw new PolicyRuntimeError(`${fn}: argument is not JSON text: ${JSON.stringify(v.slice(0, 60))}`);
    }
  }
  // Evidence kept as JSON (x-ms-runtime, sets) is queried as is.
  if (v !== null && typeof v === 'object') {
    m.charge(jsonNodes(v, m.left), fn);
    return v;
  }
  throw new PolicyRuntimeError(`${fn}: expected JSON text, got ${describe(v)}`);
}

function asSet(v: unknown, fn: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [v];
  throw new PolicyRuntimeError(`${fn}: expected a set, got ${describe(v)}`);
}

/**
 * The 1.2 functions (docs/policy.md §Functions, MS docs claim-rule-functions). Errors fail the attestation
 * (docs/policy.md §Function errors). Each call is charged to the evaluation's meter for the JSON it reads and the
 * elements it compares.
 */
export const FUNCTIONS: Record<FunctionName, (args: unknown[], m: Meter) => unknown> = {
  JmesPath([json, query], m) {
    if (typeof query !== 'string' || query === '') throw new PolicyRuntimeError(`JmesPath: the query must be a non-empty string, got ${describe(query)}`);
    if (json === '') throw new PolicyRuntimeError('JmesPath: the JSON argument is empty');
    const doc = jsonInput(json, 'JmesPath', m);
    let r: unknown;
    try {
      r = jmespath.search(doc, query);
    } catch (e) {
      throw new PolicyRuntimeError(`JmesPath: ${(e as Error).message}`);
    }
    // A query can return the document many times over ([@, @] | [@, @] | …): counted before it is serialised.
    m.charge(jsonNodes(r, m.left), 'JmesPath');
    // MAA returns JSON text; JsonToClaimValue turns it into a claim value.
    return JSON.stringify(r ?? null);
  },
  JsonToClaimValue([json], m) {
    const v = jsonInput(json, 'JsonToClaimValue', m);
    return toClaimValue(v);
  },
  IsSubsetOf([a, b], m) {
    const sa = asSet(a, 'IsSubsetOf'), sb = asSet(b, 'IsSubsetOf');
    m.charge(sa.length * sb.length, 'IsSubsetOf');
    return sa.every((x) => sb.some((y) => valuesEqual(x, y)));
  },
  AppendString([a, b], m) {
    if (typeof a !== 'string' || typeof b !== 'string') throw new PolicyRuntimeError(`AppendString: expected two strings, got ${describe(a)} and ${describe(b)}`);
    m.charge(Math.ceil((a.length + b.length) / 64), 'AppendString');
    return a + b;
  },
  NegateBool([b]) {
    if (typeof b !== 'boolean') throw new PolicyRuntimeError(`NegateBool: expected a Boolean, got ${describe(b)}`);
    return !b;
  },
  ContainsOnlyValue([set, v], m) {
    const s = asSet(set, 'ContainsOnlyValue');
    m.charge(s.length, 'ContainsOnlyValue');
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
