// The Prometheus text exposition format (version 0.0.4) checked two ways: `promtool check metrics` when it is on
// the PATH (CI installs it), and always the checker below, which enforces the format's grammar and the rules
// promtool's linter applies to our output (HELP on every family, counters named *_total, one TYPE before the
// samples, families contiguous, no duplicate series, histogram/summary series). Which ran is printed once.
import { spawnSync } from 'node:child_process';

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Labels of `{a="x",b="y"}` starting at `i` (at the brace); the index after the closing brace. */
function readLabels(line: string, i: number, problem: (m: string) => void): { labels: Map<string, string>; end: number } {
  const labels = new Map<string, string>();
  i++;
  for (;;) {
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) break;
    const name = line.slice(i, eq).trim();
    if (!LABEL.test(name)) problem(`label name ${JSON.stringify(name)} is not valid`);
    if (labels.has(name)) problem(`label ${name} given twice`);
    if (line[eq + 1] !== '"') break;
    let j = eq + 2;
    let value = '';
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        const e = line[++j];
        if (e !== '\\' && e !== '"' && e !== 'n') problem(`label ${name}: escape \\${e} is not allowed`);
      }
      value += line[j];
    }
    if (j >= line.length) break;
    labels.set(name, value);
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') break;
  }
  problem('label set is not closed properly');
  return { labels, end: line.length };
}

/** Problems with an exposition (empty: valid). */
export function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const sampled = new Set<string>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') problems.push('the exposition does not end with a newline');
  const familyOf = (name: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && (types.get(base) === 'histogram' || types.get(base) === 'summary')) return base;
    }
    return name;
  };
  const enter = (family: string, at: string): void => {
    if (current !== family) {
      if (current !== null) finished.add(current);
      if (finished.has(family)) problems.push(`${at}: family ${family} is not contiguous`);
      current = family;
    }
  };
  lines.forEach((line, n) => {
    const at = `line ${n + 1}`;
    const problem = (m: string): void => { problems.push(`${at}: ${m}`); };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) return; // an ordinary comment
      const [, kind, name, rest = ''] = m;
      if (!METRIC.test(name)) problem(`metric name ${JSON.stringify(name)} is not valid`);
      enter(name, at);
      if (kind === 'HELP') {
        if (helps.has(name)) problem(`second HELP for ${name}`);
        helps.add(name);
        if (rest.trim() === '') problem(`${name}: empty HELP text`);
      } else {
        if (types.has(name)) problem(`second TYPE for ${name}`);
        if (sampled.has(name)) problem(`TYPE for ${name} after its samples`);
        if (!TYPES.has(rest)) problem(`${name}: unknown type ${JSON.stringify(rest)}`);
        types.set(name, rest);
        if (rest === 'counter' && !name.endsWith('_total')) problem(`counter ${name} should be named *_total`);
      }
      return;
    }
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) {
      problem(`not a sample: ${JSON.stringify(line.slice(0, 80))}`);
      return;
    }
    const name = line.slice(0, nameEnd);
    if (!METRIC.test(name)) problem(`metric name ${JSON.stringify(name)} is not valid`);
    let labels = new Map<string, string>();
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = readLabels(line, i, problem));
    const fields = line.slice(i).trim().split(/\s+/);
    if (line[i] !== ' ' || fields.length < 1 || fields.length > 2) problem('expected " value [timestamp]" after the series');
    else {
      if (!VALUE.test(fields[0])) problem(`${name}: value ${JSON.stringify(fields[0])} is not a number`);
      if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) problem(`${name}: timestamp ${JSON.stringify(fields[1])} is not an integer`);
    }
    const family = familyOf(name);
    enter(family, at);
    sampled.add(family);
    if (!helps.has(family)) problem(`${family} has no HELP text`);
    const type = types.get(family);
    if (type === 'histogram' && name === `${family}_bucket` && !labels.has('le')) problem(`${name} without an le label`);
    if (type === 'histogram' && name === family) problem(`histogram ${family} has a bare sample`);
    const key = `${name}{${[...labels].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    if (series.has(key)) problem(`duplicate series ${key}`);
    series.add(key);
  });
  return problems;
}

let announced = false;

/** Both checks; `tools` says which ran. promtool's findings and the checker's problems come back together. */
export function checkExposition(text: string): { tools: string[]; problems: string[] } {
  const problems = expositionProblems(text).map((p) => `format: ${p}`);
  const tools = ['format checker'];
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error === undefined) {
    tools.push('promtool');
    if (r.status !== 0 || (r.stdout + r.stderr).trim() !== '') problems.push(`promtool (exit ${r.status}): ${(r.stdout + r.stderr).trim()}`);
  }
  if (!announced) {
    announced = true;
    process.stderr.write(`Prometheus exposition checked with: ${tools.join(' and ')}${tools.includes('promtool') ? '' : ' (promtool not on PATH)'}\n`);
  }
  return { tools, problems };
}
