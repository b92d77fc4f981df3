/**
 * RFC 6902 add/remove/replace, as the API server applies a webhook's patch: `add` to a missing parent fails,
 * `-` appends, `remove` of a missing member fails. Used to check a patch against the object it was made for.
 */
export type Op = { op: string; path: string; value?: unknown };

function unescape(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

export function applyPatch<T>(doc: T, ops: Op[]): T {
  const root = structuredClone(doc) as unknown;
  for (const o of ops) {
    const parts = o.path.split('/').slice(1).map(unescape);
    const last = parts.pop()!;
    let parent = root as Record<string, unknown> | unknown[];
    for (const p of parts) {
      const next = Array.isArray(parent) ? parent[Number(p)] : (parent as Record<string, unknown>)[p];
      if (typeof next !== 'object' || next === null) throw new Error(`${o.op} ${o.path}: parent ${p} missing`);
      parent = next as Record<string, unknown>;
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (o.op === 'add') parent.splice(i, 0, o.value);
      else if (o.op === 'remove') {
        if (i >= parent.length) throw new Error(`remove ${o.path}: no element`);
        parent.splice(i, 1);
      } else if (o.op === 'replace') parent[i] = o.value;
      else throw new Error(`unsupported op ${o.op}`);
    } else {
      const obj = parent as Record<string, unknown>;
      if (o.op === 'add' || o.op === 'replace') {
        if (o.op === 'replace' && !(last in obj)) throw new Error(`replace ${o.path}: no member`);
        obj[last] = o.value;
      } else if (o.op === 'remove') {
        if (!(last in obj)) throw new Error(`remove ${o.path}: no member`);
        delete obj[last];
      } else throw new Error(`unsupported op ${o.op}`);
    }
  }
  return root as T;
}
