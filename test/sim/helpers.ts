import { createPlatform, type SimPlatform, type SimPlatformOptions } from '../../src/sim/index.js';

/** A fixed reference time so every test platform is reproducible. */
export const ISSUED_AT = new Date('2026-03-02T00:00:00Z');
export const MRENCLAVE = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + (i % 16));
export const MRSIGNER = Uint8Array.from({ length: 32 }, (_, i) => 0x30 + (i % 16));

const cache = new Map<string, SimPlatform>();

/** Platforms are pure functions of their options: build each one once per test process. */
export function platform(opts: SimPlatformOptions = {}): SimPlatform {
  const full = { seed: 'confkube-test', issuedAt: ISSUED_AT, ...opts };
  const key = JSON.stringify(full);
  let p = cache.get(key);
  if (!p) {
    p = createPlatform(full);
    cache.set(key, p);
  }
  return p;
}
