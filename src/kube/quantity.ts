import { QuantityError } from './errors.js';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * Parse a Kubernetes resource quantity (`10Mi`, `1G`, `176160768`, `1e6`) to a number of units.
 * Extended resources are integers, so callers round up as the API server does.
 */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') {
    if (!Number.isFinite(q) || q < 0) throw new QuantityError(`quantity ${q} is not a finite non-negative number`);
    return q;
  }
  const m = /^\s*([+]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)\s*$/.exec(q);
  if (!m) throw new QuantityError(`quantity ${JSON.stringify(q)} is not a Kubernetes quantity (like 10Mi, 1G or 1048576)`);
  const n = Number(m[1]);
  if (m[2] !== undefined) return n * 10 ** Number(m[2].slice(1));
  const suf = m[3] ?? '';
  return n * (BINARY[suf] ?? DECIMAL[suf]);
}

/** Bytes of an EPC quantity, rounded up to a whole byte. */
export function quantityToBytes(q: string | number): number {
  return Math.ceil(parseQuantity(q));
}
