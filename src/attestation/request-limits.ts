/**
 * What one request may carry (docs/attestation-limits.md). A DCAP quote with its PCK chain is 4-8 KiB; runtime
 * and init-time data are a key or a small JSON document; a policy is a few KiB. The caps leave room for all of
 * these while keeping the cost of a hostile request bounded.
 */
export const MAX_EVIDENCE_CHARS = 64 * 1024;
export const MAX_DATA_CHARS = 64 * 1024;
export const MAX_POLICY_CHARS = 64 * 1024;
/** Deepest JSON accepted in runtime and init-time data (objects and arrays); real documents nest a few levels. */
export const MAX_JSON_DEPTH = 64;

/** True when `v` nests objects/arrays deeper than `max` (iterative: a hostile document cannot exhaust the stack). */
export function jsonDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) return true;
    for (const y of Array.isArray(x) ? x : Object.values(x)) if (y !== null && typeof y === 'object') stack.push([y, d + 1]);
  }
  return false;
}
