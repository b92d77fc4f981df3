import { ConfkubeError } from '../lib/errors.js';

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * RFC 6902 `add`, `remove` and `replace` — the operations the webhook emits — applied to a copy, as strictly as
 * the API server applies a webhook's patch: `add` under a missing parent, `remove` or `replace` of a missing
 * member fail (ERR_JSON_PATCH, naming the operation).
 */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const root = structuredClone(doc) as unknown;
  for (const o of ops) {
    const fail = (why: string) => new ConfkubeError('ERR_JSON_PATCH', `${o.op} ${o.path}: ${why}`);
    if (!o.path.startsWith('/')) throw fail('path must start with "/"');
    const parts = o.path.split('/').slice(1).map(unescape);
    const last = parts.pop()!;
    let parent: unknown = root;
    for (const p of parts) {
      const next = Array.isArray(parent) ? parent[Number(p)] : typeof parent === 'object' && parent !== null && Object.hasOwn(parent, p) ? (parent as Record<string, unknown>)[p] : undefined;
      if (typeof next !== 'object' || next === null) throw fail(`no object at "${p}"`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (o.op !== 'add' && i === parent.length)) throw fail('index out of range');
      if (o.op === 'add') parent.splice(i, 0, o.value);
      else if (o.op === 'remove') parent.splice(i, 1);
      else if (o.op === 'replace') parent[i] = o.value;
      else throw fail('unsupported operation');
    } else {
      const obj = parent as Record<string, unknown>;
      const has = Object.hasOwn(obj, last);
      if (o.op === 'add') Object.defineProperty(obj, last, { value: o.value, enumerable: true, writable: true, configurable: true });
      else if (o.op === 'replace' && has) obj[last] = o.value;
      else if (o.op === 'remove' && has) delete obj[last];
      else throw fail(o.op === 'replace' || o.op === 'remove' ? 'no such member' : 'unsupported operation');
    }
  }
  return root as T;
}
