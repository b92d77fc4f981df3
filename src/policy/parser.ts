import type { Action, ActionKind, ClaimArgs, ClaimProp, Condition, Expr, FunctionName, PolicyAst, PolicyVersion, Pos, PropCond, RelOp, Rule, SectionName } from './ast.js';
import { PolicyError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

export interface ParseOptions {
  /**
   * Accept the typos found in Microsoft's own doc samples (docs/policy.md §Tolerated typos): `=` for `==` in a
   * condition, a missing `;` after a rule or section, typographic quotes. Each is recorded as a warning.
   */
  lenient?: boolean;
}

const SECTIONS: SectionName[] = ['configurationrules', 'authorizationrules', 'issuancerules'];
const PROPS: Record<string, ClaimProp> = { type: 'type', value: 'value', issuer: 'issuer', valuetype: 'valueType' };
const ACTIONS: Record<string, ActionKind> = { permit: 'permit', deny: 'deny', issue: 'issue', add: 'add', issueproperty: 'issueproperty' };
const FUNCS: Record<string, FunctionName> = {
  jmespath: 'JmesPath', jsontoclaimvalue: 'JsonToClaimValue', issubsetof: 'IsSubsetOf',
  appendstring: 'AppendString', negatebool: 'NegateBool', containsonlyvalue: 'ContainsOnlyValue',
};
const REL_OPS = new Set(['==', '!=', '<=', '>=', '<', '>']);
const VERSIONS = new Set(['1.0', '1.1', '1.2']);
/** Function calls nest (`AppendString(AppendString(...))`, docs/policy.md §Grammar); bounded so hostile input cannot exhaust the stack. */
const MAX_NESTING = 32;

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of policy';
    case 'string': return `string ${t.text.length > 40 ? t.text.slice(0, 37) + '..."' : t.text}`;
    case 'ident': return `"${t.text}"`;
    default: return `"${t.text}"`;
  }
}

/** Parse a policy document into its syntax tree (docs/policy.md §Document structure; docs/policy.md §Grammar). Throws a located PolicyError. */
export function parsePolicy(src: string, opts: ParseOptions = {}): PolicyAst {
  return new Parser(tokenize(src, { lenient: opts.lenient === true }), opts.lenient === true).policy();
}

class Parser {
  private i = 0;
  private version: PolicyVersion = '1.0';
  private readonly warnings: PolicyAst['warnings'] = [];

  constructor(private readonly toks: Token[], private readonly lenient: boolean) {}

  private peek(k = 0): Token {
    const t = this.toks[Math.min(this.i + k, this.toks.length - 1)];
    if (t.error !== undefined) throw t.error;
    return t;
  }
  private next(): Token { const t = this.peek(); if (t.kind !== 'eof') this.i++; return t; }
  private pos(t: Token): Pos { return { line: t.line, column: t.column }; }

  private fail(t: Token, expected: string, what?: string): PolicyError {
    return new PolicyError('ERR_POLICY_SYNTAX', what ?? `expected ${expected}, found ${describe(t)}`, t.line, t.column, expected);
  }
  private isPunct(p: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'punct' && t.text === p; }
  private isKeyword(word: string, k = 0): boolean { const t = this.peek(k); return t.kind === 'ident' && t.text.toLowerCase() === word; }
  private expectPunct(p: string, expected = `"${p}"`): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== p) throw this.fail(t, expected);
    return this.next();
  }
  private needVersion(min: PolicyVersion, what: string, t: Token): void {
    if (this.version < min) {
      throw new PolicyError('ERR_POLICY_VERSION', `${what} needs policy version ${min} or later; this policy declares version=${this.version}`, t.line, t.column, `version=${min}`);
    }
  }
  /** `;` that strict mode requires and lenient mode may find missing (doc sample P16). */
  private semicolon(where: string, followOk: () => boolean): void {
    if (this.isPunct(';')) { this.next(); return; }
    const t = this.peek();
    if (this.lenient && followOk()) {
      this.warnings.push({ message: `missing ";" after ${where}`, pos: this.pos(t) });
      return;
    }
    throw this.fail(t, `";" after ${where}`);
  }

  policy(): PolicyAst {
    this.versionStmt();
    const sections: PolicyAst['sections'] = {};
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      const name = t.kind === 'ident' ? (t.text.toLowerCase() as SectionName) : undefined;
      if (name === undefined || !SECTIONS.includes(name)) {
        if (this.isPunct(';')) throw this.fail(t, 'a section', 'unexpected ";" between sections');
        throw this.fail(t, 'configurationrules, authorizationrules or issuancerules');
      }
      if (sections[name] !== undefined) throw new PolicyError('ERR_POLICY_SYNTAX', `section ${name} appears twice`, t.line, t.column);
      if (name === 'configurationrules') this.needVersion('1.1', 'configurationrules', t);
      this.next();
      sections[name] = this.section(name);
    }
    if (sections.authorizationrules === undefined) {
      const t = this.peek();
      throw new PolicyError('ERR_POLICY_SYNTAX', 'policy has no authorizationrules section', t.line, t.column, 'authorizationrules');
    }
    return { version: this.version, sections, warnings: this.warnings };
  }

  private versionStmt(): void {
    const t = this.peek();
    if (!this.isKeyword('version')) throw this.fail(t, '"version"', `a policy starts with version=1.0, 1.1 or 1.2; found ${describe(t)}`);
    this.next();
    this.expectPunct('=');
    const v = this.peek();
    if (v.kind !== 'decimal' && v.kind !== 'int') throw this.fail(v, 'a version number (1.0, 1.1 or 1.2)');
    if (!VERSIONS.has(v.text)) {
      throw new PolicyError('ERR_POLICY_VERSION', `unsupported policy version ${v.text}; supported: 1.0, 1.1, 1.2`, v.line, v.column, '1.0, 1.1 or 1.2');
    }
    this.next();
    this.version = v.text as PolicyVersion;
    this.expectPunct(';', '";" after the version');
  }

  private section(name: SectionName): Rule[] {
    this.expectPunct('{', `"{" after ${name}`);
    const rules: Rule[] = [];
    while (!this.isPunct('}')) {
      if (this.peek().kind === 'eof') throw this.fail(this.peek(), `a rule or "}" closing ${name}`);
      rules.push(this.rule(name));
    }
    this.next();
    this.semicolon(`the closing "}" of ${name}`, () => this.peek().kind === 'eof' || (this.peek().kind === 'ident' && SECTIONS.includes(this.peek().text.toLowerCase() as SectionName)));
    return rules;
  }

  private rule(section: SectionName): Rule {
    const start = this.peek();
    const conditions: Condition[] = [];
    if (!this.isPunct('=>')) {
      conditions.push(this.condition());
      while (this.isPunct('&&')) {
        this.next();
        conditions.push(this.condition());
      }
      if (this.isPunct('||')) throw this.fail(this.peek(), '"&&" or "=>"', '"||" is not an operator: write one rule per alternative');
    }
    this.expectPunct('=>', conditions.length ? '"&&" or "=>"' : 'a condition or "=>"');
    const action = this.action();
    this.semicolon('a rule', () => this.isPunct('}') || this.isPunct('=>') || this.isPunct('[') || this.isPunct('!') || (this.peek().kind === 'ident' && this.isPunct(':', 1)));
    return { section, conditions, action, pos: this.pos(start) };
  }

  private condition(): Condition {
    const start = this.peek();
    let negated = false;
    if (this.isPunct('!')) {
      this.needVersion('1.2', 'the absence test "!"', start);
      this.next();
      negated = true;
    }
    let ident: string | undefined;
    if (this.peek().kind === 'ident' && this.isPunct(':', 1)) {
      const id = this.next();
      if (negated) throw new PolicyError('ERR_POLICY_SEMANTIC', `an absence test cannot bind identifier ${id.text}: no claim matches it`, id.line, id.column);
      ident = id.text;
      this.next();
    }
    this.expectPunct('[', ident === undefined && !negated ? 'a condition "[...]", "!" or an identifier' : '"["');
    const props: PropCond[] = [];
    if (!this.isPunct(']')) {
      props.push(this.propCond());
      while (this.isPunct(',')) {
        this.next();
        props.push(this.propCond());
      }
    }
    this.expectPunct(']', '"," or "]"');
    return { negated, ...(ident !== undefined ? { ident } : {}), props, pos: this.pos(start) };
  }

  private claimProp(t: Token, what: string): ClaimProp {
    const p = t.kind === 'ident' ? PROPS[t.text.toLowerCase()] : undefined;
    if (p === undefined) throw this.fail(t, 'type, value, issuer or valueType', `expected ${what} (type, value, issuer or valueType), found ${describe(t)}`);
    return p;
  }

  private propCond(): PropCond {
    const t = this.next();
    const prop = this.claimProp(t, 'a claim property');
    const o = this.peek();
    let op: RelOp;
    if (o.kind === 'punct' && REL_OPS.has(o.text)) {
      op = o.text as RelOp;
    } else if (o.kind === 'punct' && o.text === '=') {
      // Doc samples write `type="..."` in conditions (docs/policy.md §Tolerated typos); strict mode rejects it.
      if (!this.lenient) throw this.fail(o, 'a comparison operator (==, !=, <, <=, >, >=)', '"=" is not a comparison: use "==" in a condition');
      this.warnings.push({ message: '"=" used as "==" in a condition', pos: this.pos(o) });
      op = '==';
    } else {
      throw this.fail(o, 'a comparison operator (==, !=, <, <=, >, >=)');
    }
    this.next();
    const expr = this.expr(0);
    return { prop, op, expr, pos: this.pos(t) };
  }

  private expr(depth: number): Expr {
    const t = this.peek();
    if (depth > MAX_NESTING) throw new PolicyError('ERR_POLICY_SYNTAX', `function calls nested deeper than ${MAX_NESTING}`, t.line, t.column);
    const pos = this.pos(t);
    if (t.kind === 'string') { this.next(); return { kind: 'lit', value: t.value as string, pos }; }
    if (t.kind === 'int') { this.next(); return { kind: 'lit', value: t.value as number, pos }; }
    if (t.kind === 'decimal') throw this.fail(t, 'an integer, string, true or false', `fractions are not claim values: ${t.text}`);
    if (t.kind === 'ident') {
      const low = t.text.toLowerCase();
      if (this.isPunct('.', 1)) {
        this.next();
        this.next();
        const p = this.next();
        return { kind: 'ref', ident: t.text, prop: this.claimProp(p, `a property of ${t.text}`), pos };
      }
      if (this.isPunct('(', 1)) {
        const name = FUNCS[low];
        if (name === undefined) {
          throw new PolicyError('ERR_POLICY_SYNTAX', `unknown function ${t.text}; known: ${Object.values(FUNCS).join(', ')}`, t.line, t.column, 'a function name');
        }
        this.needVersion('1.2', `function ${name}`, t);
        this.next();
        this.next();
        const args: Expr[] = [];
        if (!this.isPunct(')')) {
          args.push(this.expr(depth + 1));
          while (this.isPunct(',')) {
            this.next();
            args.push(this.expr(depth + 1));
          }
        }
        this.expectPunct(')', '"," or ")"');
        return { kind: 'call', name, args, pos };
      }
      if (low === 'true' || low === 'false') { this.next(); return { kind: 'lit', value: low === 'true', pos }; }
      throw this.fail(t, 'a value (string, integer, true, false, identifier.property or function call)',
        `expected a value, found ${describe(t)} (an identifier needs a property, as in ${t.text}.value)`);
    }
    if (t.kind === 'punct' && t.text === '<') {
      throw this.fail(t, 'a value', 'expected a value, found "<" (a placeholder such as <product-id> must be replaced by a real value)');
    }
    throw this.fail(t, 'a value (string, integer, true, false, identifier.property or function call)');
  }

  private action(): Action {
    const t = this.peek();
    const kind = t.kind === 'ident' ? ACTIONS[t.text.toLowerCase()] : undefined;
    if (kind === undefined) {
      const what = t.kind === 'ident' ? `unknown action ${t.text}` : `expected an action, found ${describe(t)}`;
      throw this.fail(t, 'permit, deny, issue, add or issueproperty', `${what}; expected permit(), deny(), issue(...), add(...) or issueproperty(...)`);
    }
    this.next();
    this.expectPunct('(', `"(" after ${kind}`);
    const pos = this.pos(t);
    if (kind === 'permit' || kind === 'deny') {
      this.expectPunct(')', `")": ${kind}() takes no arguments`);
      return { kind, pos };
    }
    // issue(claim = c) copies a bound claim (docs/policy.md §Actions).
    if (this.isKeyword('claim') && this.isPunct('=', 1)) {
      this.next();
      this.next();
      const id = this.peek();
      if (id.kind !== 'ident') throw this.fail(id, 'an identifier bound by a condition');
      this.next();
      this.expectPunct(')', '")"');
      return { kind, claimRef: { ident: id.text, pos: this.pos(id) }, pos };
    }
    const args: ClaimArgs = {};
    for (;;) {
      const k = this.next();
      const prop = this.claimProp(k, `an argument of ${kind}`);
      if (args[prop] !== undefined) throw new PolicyError('ERR_POLICY_SYNTAX', `${prop} given twice in ${kind}(...)`, k.line, k.column);
      const eq = this.peek();
      if (!(eq.kind === 'punct' && eq.text === '=')) {
        throw this.fail(eq, `"=" after ${prop}`, eq.kind === 'punct' && eq.text === '==' ? `use "=" to give ${prop} in ${kind}(...), not "=="` : undefined);
      }
      this.next();
      args[prop] = this.expr(0);
      if (this.isPunct(',')) { this.next(); continue; }
      this.expectPunct(')', '"," or ")"');
      break;
    }
    if (args.type === undefined || args.value === undefined) {
      throw new PolicyError('ERR_POLICY_SEMANTIC', `${kind}(...) needs both type= and value= (or claim=identifier)`, pos.line, pos.column, 'type and value');
    }
    return { kind, args, pos };
  }
}
