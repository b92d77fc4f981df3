import { badRequest } from './errors.js';

/** metav1.LabelSelector, the object form. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

type Op = 'in' | 'notin' | 'exists' | '!' | '=' | '!=';
export interface Requirement {
  key: string;
  op: Op;
  values: string[];
}

// Label keys: an optional DNS subdomain prefix and a name of up to 63 characters; values likewise (docs/autoscale.md).
const KEY = /^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '(') depth++;
    else if (s[i] === ')') depth--;
    else if (s[i] === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** The string form of a label selector, as `labelSelector` and `metricLabelSelector` carry it; 400 on bad syntax. */
export function parseSelector(s: string, param: string): Requirement[] {
  if (s.trim() === '') return [];
  return splitTop(s).map((raw) => {
    const r = raw.trim();
    const fail = (why: string) => badRequest(`${param}: ${why} in ${JSON.stringify(r)}`);
    let m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(r);
    let req: Requirement;
    if (m) req = { key: m[1]!, op: m[2] as Op, values: m[3]!.split(',').map((v) => v.trim()) };
    else if ((m = /^!\s*(\S+)$/.exec(r))) req = { key: m[1]!, op: '!', values: [] };
    else if ((m = /^([^\s=!]+)\s*(==|=|!=)\s*(\S*)$/.exec(r))) req = { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
    else if ((m = /^([^\s=!(),]+)$/.exec(r))) req = { key: m[1]!, op: 'exists', values: [] };
    else throw fail('not a requirement');
    if (!KEY.test(req.key)) throw fail(`invalid label key ${JSON.stringify(req.key)}`);
    for (const v of req.values) if (!VALUE.test(v)) throw fail(`invalid label value ${JSON.stringify(v)}`);
    if ((req.op === 'in' || req.op === 'notin') && req.values.some((v) => v === '')) throw fail('empty value in a set');
    return req;
  });
}

export function matches(reqs: Requirement[], labels: Record<string, string>): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists': return has;
      case '!': return !has;
      case '=': case 'in': return has && r.values.includes(v!);
      case '!=': case 'notin': return !has || !r.values.includes(v!);
    }
  });
}

/** The object form of parsed requirements, as MetricValue.selector carries it. */
export function toLabelSelector(reqs: Requirement[]): LabelSelector {
  const out: LabelSelector = {};
  for (const r of reqs) {
    if (r.op === '=') (out.matchLabels ??= {})[r.key] = r.values[0]!;
    else {
      const operator = r.op === 'in' ? 'In' : r.op === 'exists' ? 'Exists' : r.op === '!' ? 'DoesNotExist' : 'NotIn';
      (out.matchExpressions ??= []).push({ key: r.key, operator, ...(r.values.length ? { values: r.values } : {}) });
    }
  }
  return out;
}

/** A workload's spec.selector as the string the pod list takes. An empty selector selects every pod. */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel?.matchLabels ?? {}).sort()) parts.push(`${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${(e.values ?? []).join(',')})`);
  }
  return parts.join(',');
}
