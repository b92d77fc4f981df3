import { compileAst, type CompiledPolicy } from './compile.js';
import { PolicyError } from './errors.js';
import { parsePolicy, type ParseOptions } from './parser.js';

export type CompileOptions = ParseOptions;

function run(text: string, opts: CompileOptions): { compiled?: CompiledPolicy; errors: PolicyError[] } {
  if (typeof text !== 'string') return { errors: [new PolicyError('ERR_POLICY_SYNTAX', 'policy text is not a string', 1, 1)] };
  let ast;
  try {
    ast = parsePolicy(text, opts);
  } catch (e) {
    if (e instanceof PolicyError) return { errors: [e] };
    // Parsing is total over strings; anything else is reported as located at the start rather than thrown.
    return { errors: [new PolicyError('ERR_POLICY_SYNTAX', `cannot parse policy: ${e instanceof Error ? e.message : String(e)}`, 1, 1)] };
  }
  const errors: PolicyError[] = [];
  const compiled = compileAst(ast, text, errors);
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return errors.length ? { errors } : { compiled, errors };
}

/** Compile a policy once (docs/policy.md §Grammar; docs/policy.md §Sections); evaluate it many times. Throws the first located PolicyError. */
export function compilePolicy(text: string, opts: CompileOptions = {}): CompiledPolicy {
  const r = run(text, opts);
  if (r.compiled === undefined) throw r.errors[0];
  return r.compiled;
}

/** Every error of a policy (the first syntax error, or all semantic errors), located. */
export function checkPolicy(text: string, opts: CompileOptions = {}): { ok: true; warnings: CompiledPolicy['warnings'] } | { ok: false; errors: PolicyError[] } {
  const r = run(text, opts);
  return r.compiled !== undefined ? { ok: true, warnings: r.compiled.warnings } : { ok: false, errors: r.errors };
}
