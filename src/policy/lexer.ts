import { PolicyError } from './errors.js';

export type TokenKind = 'ident' | 'string' | 'int' | 'decimal' | 'punct' | 'eof' | 'error';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: the decoded value is in `value`). */
  text: string;
  value?: string | number;
  line: number;
  column: number;
  offset: number;
  /** For `error` tokens: what is wrong here. The parser throws it only when it reaches this point. */
  error?: PolicyError;
}

export interface LexOptions {
  /** Accept typographic quotes “ ” as string delimiters (doc rendering artefacts, docs/policy.md §Tolerated typos). */
  lenient?: boolean;
}

// Longest first so `=>` wins over `=`, `==` over `=`.
const PUNCT = ['=>', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '=', '!', '[', ']', '{', '}', '(', ')', ';', ',', ':', '.'];
const TYPO_QUOTES = new Set(['\u201c', '\u201d', '\u201e', '\u2033']);

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c);

/**
 * Tokens of a policy document (docs/policy.md §Document structure; docs/policy.md §Grammar): whitespace anywhere, `//` line and `/* *\/` block comments,
 * strings with `\"` and `\\` escapes, integers with an optional `-`, and `1.0`-style decimals for the version.
 */
export function tokenize(src: string, opts: LexOptions = {}): Token[] {
  const out: Token[] = [];
  try {
    lex(src, opts, out);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    // Reported when the parser gets here, so an earlier grammar error (e.g. the `<` of a `<product-id>`
    // placeholder) is the one the author sees.
    out.push({ kind: 'error', text: '', line: e.line, column: e.column, offset: -1, error: e });
  }
  return out;
}

function lex(src: string, opts: LexOptions, out: Token[]): void {
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  const err = (reason: string, at: number, atLine = line, atLineStart = lineStart, expected?: string): PolicyError =>
    new PolicyError('ERR_POLICY_SYNTAX', reason, atLine, at - atLineStart + 1, expected);

  while (i < n) {
    const c = src[i];
    if (c === '\n') { i++; line++; lineStart = i; continue; }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const startLine = line, startLs = lineStart, start = i;
      i += 2;
      while (i < n && !(src[i] === '*' && src[i + 1] === '/')) {
        if (src[i] === '\n') { line++; lineStart = i + 1; }
        i++;
      }
      if (i >= n) throw err('block comment is not closed', start, startLine, startLs, '*/');
      i += 2;
      continue;
    }
    const col = i - lineStart + 1;
    if (c === '"' || (opts.lenient && TYPO_QUOTES.has(c))) {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= n || src[i] === '\n') {
          const rest = src.slice(start, i);
          const hint = /[\u201c\u201d]/.test(rest) ? ' (a typographic quote ” does not close a string; use ")' : '';
          throw err(`string is not closed before the end of the line${hint}`, start, line, lineStart, '"');
        }
        const d = src[i];
        if (d === '"' || (opts.lenient && TYPO_QUOTES.has(d))) { i++; break; }
        if (d === '\\' && i + 1 < n && src[i + 1] !== '\n') {
          const e = src[i + 1];
          // `\"` and `\\` occur in published policies (JMESPath paths such as \\windows\\system32); anything else
          // is kept as written so a JMESPath or JSON escape passes through unchanged.
          if (e === '"' || e === '\\') value += e;
          else value += '\\' + e;
          i += 2;
          continue;
        }
        value += d;
        i++;
      }
      out.push({ kind: 'string', text: src.slice(start, i), value, line, column: col, offset: start });
      continue;
    }
    if (isDigit(c) || (c === '-' && isDigit(src[i + 1] ?? ''))) {
      const start = i;
      i++;
      while (i < n && isDigit(src[i])) i++;
      if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
        i++;
        while (i < n && isDigit(src[i])) i++;
        out.push({ kind: 'decimal', text: src.slice(start, i), line, column: col, offset: start });
        continue;
      }
      if (i < n && isIdentStart(src[i])) throw err(`malformed number ${JSON.stringify(src.slice(start, i + 1))}`, start);
      const text = src.slice(start, i);
      const v = Number(text);
      // Integers are 64-bit in the language (docs/policy.md §Grammar); JSON claim values are doubles, so only exact ones are kept.
      if (!Number.isSafeInteger(v)) throw err(`integer ${text} is outside the exactly representable range ±2^53`, start);
      out.push({ kind: 'int', text, value: v, line, column: col, offset: start });
      continue;
    }
    if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(src[i])) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), line, column: col, offset: start });
      continue;
    }
    let p: string | undefined;
    for (const q of PUNCT) {
      if (src.startsWith(q, i)) { p = q; break; }
    }
    if (p !== undefined) {
      out.push({ kind: 'punct', text: p, line, column: col, offset: i });
      i += p.length;
      continue;
    }
    if (TYPO_QUOTES.has(c) || c === '\u2018' || c === '\u2019') {
      throw err(`typographic quote ${c} is not a string delimiter; use "`, i, line, lineStart, '"');
    }
    if (c === '&') throw err('"&" is not an operator', i, line, lineStart, '&&');
    const cp = src.codePointAt(i) ?? 0;
    const shown = cp < 0x20 || cp === 0x7f ? `U+${cp.toString(16).padStart(4, '0').toUpperCase()}` : String.fromCodePoint(cp);
    throw err(`unexpected character ${JSON.stringify(shown)}`, i);
  }
  out.push({ kind: 'eof', text: '', line, column: i - lineStart + 1, offset: i });
}
