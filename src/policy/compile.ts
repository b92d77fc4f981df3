import type { Action, ClaimProp, Condition, Expr, PolicyAst, PropCond, RelOp, Rule, SectionName } from './ast.js';
import { ClaimSet, incomingClaimSet, ISSUER_POLICY, valuesEqual, valueTypeOf, type Claim, type EClaim } from './claims.js';
import { PolicyBudgetError, PolicyError, PolicyRuntimeError } from './errors.js';
import { ARITY, EMPTY, FUNCTIONS, jmesPathSyntaxError, ParsedJson } from './functions.js';
import { Meter, type EvaluationBudget } from './budget.js';

export interface PolicyDecision {
  permitted: boolean;
  /** Claims `issue`d by issuancerules: the token's policy claims (docs/policy.md §Actions; docs/policy.md §Issued claims). */
  issuedClaims: Claim[];
  /** Claims set by `issueproperty` (configurationrules and issuancerules), e.g. `x-ms-sgx-tcbidentifier`. */
  issuedProperties: Claim[];
  /** Indexes into `CompiledPolicy.rules` of every rule whose conditions held, in evaluation order. */
  matchedRules: number[];
  denyReason?: string;
  /** The evaluation ran out of its budget (steps or time) before it could decide; `denyReason` says where. */
  exhausted?: boolean;
}

export interface RuleInfo { section: SectionName; line: number; column: number; action: Action['kind'] }

export interface CompiledPolicy {
  version: string;
  source: string;
  rules: RuleInfo[];
  warnings: { message: string; line: number; column: number }[];
  /** Evidence claims: a Claim array, or a `{type: value}` map (issuer AttestationService either way). */
  evaluate(claims: readonly Claim[] | Readonly<Record<string, unknown>>, budget?: EvaluationBudget): PolicyDecision;
}

/** The claims bound by a rule's conditions, by slot, and the evaluation's meter. */
type Env = EClaim[] & { meter: Meter };
type ValFn = (env: Env) => unknown;
type Pred = (c: EClaim, env: Env) => boolean;

interface CCond { slot: number; negated: boolean; typeKey?: string; preds: Pred[] }
interface CAction { kind: Action['kind']; make?: (env: Env) => EClaim | null }
interface CRule { index: number; section: SectionName; conds: CCond[]; slots: number; action: CAction; where: string }

/**
 * What each section's actions can do (MS docs policy-version-1-0, docs/policy.md §Sections): authorization rules "can be
 * used to fail attestation" but "no claims can be issued from this section to the response token"; issuance rules
 * "can't be used to fail attestation". Anything else is accepted with a warning and has only the effect the
 * section allows: issue outside issuancerules acts as add, permit/deny outside authorizationrules do nothing.
 */
const EFFECTIVE: Record<SectionName, Action['kind'][]> = {
  configurationrules: ['issueproperty', 'add'],
  authorizationrules: ['permit', 'deny', 'add', 'issueproperty'],
  issuancerules: ['issue', 'add', 'issueproperty'],
};
const VALUE_TYPES = new Set(['String', 'Integer', 'Boolean']);

function numericTest(op: RelOp, b: number): (a: number) => boolean {
  switch (op) {
    case '==': return (a) => a === b;
    case '!=': return (a) => a !== b;
    case '<': return (a) => a < b;
    case '<=': return (a) => a <= b;
    case '>': return (a) => a > b;
    case '>=': return (a) => a >= b;
  }
}

/** Typed comparison (docs/policy.md §Comparisons): Integers numerically; Strings and Booleans by == and != only; other mixes are false. */
export function compare(op: RelOp, a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && !Array.isArray(b)) {
    // A set-valued claim satisfies the condition when one of its members does.
    for (const x of a) if (compare(op, x, b)) return true;
    return false;
  }
  const ta = typeof a;
  if (ta === 'number' && typeof b === 'number') return numericTest(op, b)(a as number);
  if (ta !== typeof b) return false;
  if (op === '==') return valuesEqual(a, b);
  if (op === '!=') return !valuesEqual(a, b);
  return false;
}

/** A fast test of a claim value against a literal, same meaning as `compare`. */
function literalTest(op: RelOp, lit: string | number | boolean): (v: unknown) => boolean {
  let scalar: (v: unknown) => boolean;
  if (typeof lit === 'number') {
    const t = numericTest(op, lit);
    scalar = (v) => typeof v === 'number' && t(v);
  } else if (op === '==') {
    scalar = (v) => v === lit;
  } else {
    const tl = typeof lit;
    scalar = (v) => typeof v === tl && v !== lit;
  }
  return (v) => {
    if (Array.isArray(v)) {
      for (const x of v) if (scalar(x)) return true;
      return false;
    }
    return scalar(v);
  };
}

const propGetter: Record<ClaimProp, (c: EClaim) => unknown> = {
  type: (c) => c.type,
  value: (c) => c.value,
  issuer: (c) => c.issuer,
  valueType: (c) => valueTypeOf(c.value),
};

class RuleCompiler {
  readonly slots = new Map<string, number>();
  /** Slots bound by conditions before the one being compiled. */
  bound = 0;

  constructor(private readonly errors: PolicyError[], private readonly ruleIdents: ReadonlySet<string>, private readonly warnings: PolicyAst['warnings']) {}

  semantic(msg: string, pos: { line: number; column: number }, expected?: string): void {
    this.errors.push(new PolicyError('ERR_POLICY_SEMANTIC', msg, pos.line, pos.column, expected));
  }

  expr(e: Expr): ValFn {
    switch (e.kind) {
      case 'lit': {
        const v = e.value;
        return () => v;
      }
      case 'ref': {
        const slot = this.slots.get(e.ident);
        if (slot === undefined || slot >= this.bound) {
          const known = [...this.slots.entries()].filter(([, s]) => s < this.bound).map(([k]) => k);
          this.semantic(slot === undefined && !this.ruleIdents.has(e.ident)
            ? `identifier ${e.ident} is not bound by a condition of this rule${known.length ? ` (bound: ${known.join(', ')})` : ''}`
            : `identifier ${e.ident} is used before the condition that binds it`, e.pos, 'an identifier bound by an earlier condition');
          return () => EMPTY;
        }
        const get = propGetter[e.prop];
        return (env) => get(env[slot]);
      }
      case 'call': {
        const n = ARITY[e.name];
        if (e.args.length !== n) this.semantic(`${e.name} takes ${n} argument${n === 1 ? '' : 's'}, got ${e.args.length}`, e.pos, `${n} arguments`);
        if (e.name === 'JmesPath' && e.args[1]?.kind === 'lit') {
          const q = e.args[1].value;
          const bad = typeof q !== 'string' || q === '' ? 'the query must be a non-empty string' : jmesPathSyntaxError(q);
          if (bad !== null) this.semantic(`JmesPath query: ${bad}`, e.args[1].pos, 'a JMESPath query');
        }
        // A JSON text literal is parsed here, once, not at every call (docs/attestation-limits.md).
        const first = e.args[0];
        const parsed = (e.name === 'JmesPath' || e.name === 'JsonToClaimValue') && first?.kind === 'lit' && typeof first.value === 'string' ? ParsedJson.of(first.value) : null;
        const args = e.args.map((a, i) => (i === 0 && parsed !== null ? () => parsed : this.expr(a)));
        const f = FUNCTIONS[e.name];
        const name = e.name;
        return (env) => {
          env.meter.charge(1, name);
          return f(args.map((a) => a(env)), env.meter);
        };
      }
    }
  }

  propCond(p: PropCond): Pred {
    if (p.prop !== 'value' && p.op !== '==' && p.op !== '!=') {
      this.semantic(`operator ${p.op} cannot compare ${p.prop}: it is a String (use == or !=)`, p.pos, '== or !=');
    }
    const get = propGetter[p.prop];
    if (p.expr.kind === 'lit') {
      const lit = p.expr.value;
      if (p.prop === 'value' && typeof lit !== 'number' && p.op !== '==' && p.op !== '!=') {
        this.semantic(`operator ${p.op} compares Integers; ${JSON.stringify(lit)} is a ${typeof lit === 'string' ? 'String' : 'Boolean'} (use == or !=)`, p.pos, '== or !=');
      }
      if (p.prop !== 'value' && typeof lit !== 'string') {
        this.semantic(`${p.prop} is a String; ${JSON.stringify(lit)} never matches it`, p.expr.pos, 'a string');
      }
      const test = literalTest(p.op, lit);
      if (p.prop === 'value') return (c) => test(c.value);
      return (c) => test(get(c));
    }
    const rhs = this.expr(p.expr);
    const op = p.op;
    return (c, env) => compare(op, get(c), rhs(env));
  }

  condition(c: Condition): CCond {
    let typeKey: string | undefined;
    const preds: Pred[] = [];
    for (const p of c.props) {
      // The first `type == "literal"` selects the candidates from the index; it needs no test of its own.
      if (typeKey === undefined && !c.negated && p.prop === 'type' && p.op === '==' && p.expr.kind === 'lit' && typeof p.expr.value === 'string') {
        typeKey = p.expr.value;
        continue;
      }
      preds.push(this.propCond(p));
    }
    let slot = -1;
    if (c.ident !== undefined) {
      if (this.slots.has(c.ident)) this.semantic(`identifier ${c.ident} is bound twice in one rule`, c.pos);
      else this.slots.set(c.ident, this.slots.size);
      slot = this.slots.get(c.ident)!;
    }
    this.bound = this.slots.size;
    return { slot, negated: c.negated, ...(typeKey !== undefined ? { typeKey } : {}), preds };
  }

  action(a: Action, section: SectionName): CAction {
    if (!EFFECTIVE[section].includes(a.kind)) {
      const why = a.kind === 'issue' ? 'only issuancerules issue claims to the token; here it acts as add()'
        : `only authorizationrules can permit or deny; ${a.kind}() here has no effect`;
      this.warnings.push({ message: `${a.kind}() in ${section}: ${why}`, pos: a.pos });
    }
    if (a.kind === 'permit' || a.kind === 'deny') return { kind: a.kind };
    if (a.claimRef !== undefined) {
      const slot = this.slots.get(a.claimRef.ident);
      if (slot === undefined) {
        this.semantic(`identifier ${a.claimRef.ident} is not bound by a condition of this rule`, a.claimRef.pos, 'an identifier bound by a condition');
        return { kind: a.kind };
      }
      return { kind: a.kind, make: (env) => ({ type: env[slot].type, value: env[slot].value, issuer: ISSUER_POLICY }) };
    }
    const args = a.args!;
    for (const k of ['type', 'issuer', 'valueType'] as const) {
      const e = args[k];
      if (e?.kind === 'lit' && typeof e.value !== 'string') this.semantic(`${k} must be a string, got ${JSON.stringify(e.value)}`, e.pos, 'a string');
    }
    if (args.type?.kind === 'lit' && args.type.value === '') this.semantic('the claim type is empty', args.type.pos, 'a claim type');
    if (args.valueType?.kind === 'lit' && typeof args.valueType.value === 'string' && !VALUE_TYPES.has(args.valueType.value)) {
      this.semantic(`unknown valueType ${JSON.stringify(args.valueType.value)}`, args.valueType.pos, 'String, Integer or Boolean');
    }
    const typeFn = this.expr(args.type!);
    const valueFn = this.expr(args.value!);
    const issuerFn = args.issuer ? this.expr(args.issuer) : null;
    const vtFn = args.valueType ? this.expr(args.valueType) : null;
    const kind = a.kind;
    return {
      kind,
      make(env) {
        const type = typeFn(env);
        if (typeof type !== 'string' || type === '') throw new PolicyRuntimeError(`${kind}: the claim type must be a non-empty string`);
        let value = valueFn(env);
        if (value === EMPTY || value === undefined) return null;
        if (vtFn) value = coerce(value, vtFn(env), kind);
        let issuer = ISSUER_POLICY;
        if (issuerFn) {
          const i = issuerFn(env);
          if (typeof i !== 'string') throw new PolicyRuntimeError(`${kind}: the issuer must be a string`);
          issuer = i;
        }
        return { type, value, issuer };
      },
    };
  }
}

/** `valueType=` on issue/add converts the value where the conversion is exact (docs/policy.md §Actions: String, Integer, Boolean). */
function coerce(v: unknown, vt: unknown, kind: string): unknown {
  if (vt === 'String') return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (vt === 'Integer') {
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  } else if (vt === 'Boolean') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
  }
  throw new PolicyRuntimeError(`${kind}: value ${JSON.stringify(v)} is not a ${String(vt)}`);
}

/** Compile the syntax tree; semantic errors are appended to `errors` (the result is only usable when none were). */
export function compileAst(ast: PolicyAst, source: string, errors: PolicyError[]): CompiledPolicy {
  const order: SectionName[] = ['configurationrules', 'authorizationrules', 'issuancerules'];
  const compiled: Record<SectionName, CRule[]> = { configurationrules: [], authorizationrules: [], issuancerules: [] };
  const rules: RuleInfo[] = [];
  // Rules are numbered in document order; sections run in the fixed order of docs/policy.md §Sections, whatever order they appear in.
  const sectionWarnings: PolicyAst['warnings'] = [];
  const all: Rule[] = order.flatMap((s) => ast.sections[s] ?? []).sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
  for (const r of all) {
    const rc = new RuleCompiler(errors, new Set(r.conditions.flatMap((c) => (c.ident !== undefined ? [c.ident] : []))), sectionWarnings);
    const conds = r.conditions.map((c) => rc.condition(c));
    const action = rc.action(r.action, r.section);
    const index = rules.length;
    rules.push({ section: r.section, line: r.pos.line, column: r.pos.column, action: r.action.kind });
    compiled[r.section].push({ index, section: r.section, conds, slots: rc.slots.size, action, where: `${r.section} rule at line ${r.pos.line}, column ${r.pos.column}` });
  }
  // Legacy `$` claims are derived only for policies that test one (docs/policy.md §Legacy claims).
  const legacy = all.some((r) => r.conditions.some((c) => c.props.some((p) => p.prop === 'type' && p.expr.kind === 'lit' && typeof p.expr.value === 'string' && p.expr.value.startsWith('$'))));
  const run = makeEvaluator(compiled, legacy);
  const warnings = [...ast.warnings, ...sectionWarnings, ...lint(all)].sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column);
  return {
    version: ast.version,
    source,
    rules,
    warnings: warnings.map((w) => ({ message: w.message, line: w.pos.line, column: w.pos.column })),
    evaluate: run,
  };
}

const RESERVED = new Set(['iss', 'iat', 'nbf', 'exp', 'jti', 'nonce', 'cnf', 'maa-ehd', 'aas-ehd', 'maa-attestationcollateral']);
const HEX_CLAIMS = new Set(['x-ms-sgx-mrsigner', 'x-ms-sgx-mrenclave', '$sgx-mrsigner', '$sgx-mrenclave', 'x-ms-sgx-report-data', 'x-ms-sgx-config-id']);

/** Accepted but almost certainly not what the author meant (docs/policy.md §Lint warnings). */
function lint(rules: Rule[]): PolicyAst['warnings'] {
  const out: PolicyAst['warnings'] = [];
  for (const r of rules) {
    for (const c of r.conditions) {
      const type = c.props.find((p) => p.prop === 'type' && p.op === '==' && p.expr.kind === 'lit');
      if (type === undefined || !HEX_CLAIMS.has(String((type.expr as { value: unknown }).value))) continue;
      for (const p of c.props) {
        if (p.prop === 'value' && p.expr.kind === 'lit' && typeof p.expr.value === 'string' && /^[0-9a-fA-F]+$/.test(p.expr.value) && /[A-F]/.test(p.expr.value)) {
          out.push({ message: 'upper-case hex never matches: the service reports MRSIGNER/MRENCLAVE in lower case and strings compare exactly', pos: p.expr.pos });
        }
      }
    }
    const t = r.action.args?.type;
    if (r.action.kind === 'issue' && t?.kind === 'lit' && typeof t.value === 'string' && (t.value.startsWith('x-ms-') || RESERVED.has(t.value))) {
      out.push({ message: `the service owns the claim ${t.value}: issuing it does not change the token`, pos: t.pos });
    }
  }
  return out;
}

function makeEvaluator(sections: Record<SectionName, CRule[]>, legacy: boolean): CompiledPolicy['evaluate'] {
  const none: EClaim[] = [];
  return (input, budget) => {
    const meter = new Meter(budget);
    const newEnv = (slots: number): Env => Object.assign(new Array<EClaim>(slots), { meter });
    const incoming = incomingClaimSet(input, legacy);
    const outgoing = new ClaimSet();
    const props = new ClaimSet();
    const matchedRules: number[] = [];

    /** Depth-first join over the conditions; `found` returns true to stop. */
    const solve = (rule: CRule, k: number, env: Env, found: (env: Env) => boolean): boolean => {
      if (k === rule.conds.length) return found(env);
      const cond = rule.conds[k];
      const cands = cond.typeKey === undefined ? incoming.list : incoming.byType.get(cond.typeKey) ?? none;
      const preds = cond.preds;
      for (let i = 0; i < cands.length; i++) {
        meter.charge(1, rule.where);
        const c = cands[i];
        let ok = true;
        for (let j = 0; j < preds.length; j++) if (!preds[j](c, env)) { ok = false; break; }
        if (!ok) continue;
        if (cond.negated) return false;
        // A condition without an identifier is an existence test: one matching claim is enough (docs/policy.md §Joins).
        if (cond.slot < 0) return solve(rule, k + 1, env, found);
        env[cond.slot] = c;
        if (solve(rule, k + 1, env, found)) return true;
      }
      return cond.negated ? solve(rule, k + 1, env, found) : false;
    };

    const holds = (rule: CRule): boolean => solve(rule, 0, newEnv(rule.slots), () => true);

    /** Every claim the rule's action makes, one per combination of bound claims, applied after the join. */
    const produce = (rule: CRule): EClaim[] | null => {
      const made: EClaim[] = [];
      let fired = false;
      const make = rule.action.make!;
      solve(rule, 0, newEnv(rule.slots), (env) => {
        fired = true;
        const c = make(env);
        if (c !== null) made.push(c);
        return false;
      });
      return fired ? made : null;
    };

    const applyClaims = (rule: CRule): void => {
      if (rule.action.make === undefined) return;
      const made = produce(rule);
      if (made === null) return;
      matchedRules.push(rule.index);
      for (const c of made) {
        incoming.add(c);
        if (rule.action.kind === 'issue') {
          if (rule.section === 'issuancerules') outgoing.add(c);
        } else if (rule.action.kind === 'issueproperty') props.add(c);
      }
    };

    const decision = (permitted: boolean, denyReason?: string, exhausted = false): PolicyDecision => ({
      permitted,
      ...(exhausted ? { exhausted } : {}),
      // Claims made by actions are fresh objects of this evaluation, so they are handed out as they are.
      issuedClaims: permitted ? outgoing.list : [],
      issuedProperties: props.list,
      matchedRules,
      ...(denyReason !== undefined ? { denyReason } : {}),
    });

    try {
      for (const r of sections.configurationrules) applyClaims(r);
      // Deny overrides permit; no permit means deny (docs/policy.md §Authorization).
      let permitted = false;
      for (const r of sections.authorizationrules) {
        if (r.action.make !== undefined) { applyClaims(r); continue; }
        if (!holds(r)) continue;
        matchedRules.push(r.index);
        if (r.action.kind === 'deny') return decision(false, `deny() fired: ${r.where}`);
        if (r.action.kind === 'permit') permitted = true;
      }
      if (!permitted) return decision(false, 'no permit() rule in authorizationrules matched the claims');
      for (const r of sections.issuancerules) applyClaims(r);
      return decision(true);
    } catch (e) {
      // Evaluation never throws: a failing rule fails the attestation (docs/policy.md §Function errors), it does not crash the caller.
      if (e instanceof PolicyBudgetError) return decision(false, e.message, true);
      if (e instanceof PolicyRuntimeError) return decision(false, e.message);
      return decision(false, `policy evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}
