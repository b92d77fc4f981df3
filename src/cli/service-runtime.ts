/**
 * Start-up wiring for `confkube serve` and `confkube demo`: the store by URL, src/policy as the service's policy
 * engine, and the simulated platform's data folder. The attestation service itself receives these as arguments.
 */
import type { AttestationStore, PolicyEngine } from '../attestation/deps.js';
import { policyEngine } from '../attestation/policy-engine.js';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type OpenStoreOptions, type Store } from '../store/index.js';
import { createPlatform, loadPlatform, writePlatform, PLATFORM_FILE, type SimPlatform } from '../sim/index.js';

/** The production store (src/store) by URL: `sqlite:/path/file.db`, a bare path, or `postgres://…`. */
export async function openServiceStore(url: string, o: OpenStoreOptions = {}): Promise<AttestationStore> {
  const store: Store = await openStore(url, o);
  return store;
}

/** src/policy as the service's engine, with its size cap and evaluation budget (attestation/policy-engine.ts). */
export { policyEngine };

export async function loadPolicyEngine(): Promise<PolicyEngine> {
  return policyEngine;
}

/**
 * The simulated platform kept in DIR (src/sim's platform directory), created on first use: a fresh seed, so each
 * data folder has its own simulated root.
 */
const COLLATERAL_REISSUE_AFTER_MS = 20 * 86_400_000;

export async function simulatedPlatformIn(dir: string): Promise<{ platform: SimPlatform; created: boolean }> {
  if (existsSync(join(dir, PLATFORM_FILE))) {
    let platform = loadPlatform(dir);
    // Simulated collateral lives 30 days, as PCS TCB Info does; a data folder kept longer gets it re-issued
    // (keys, certificates and root unchanged), since the service refuses expired collateral.
    if (Date.now() - platform.options.collateralIssuedAt.getTime() > COLLATERAL_REISSUE_AFTER_MS) {
      platform = platform.reissue();
      writePlatform(platform, dir);
    }
    return { platform, created: false };
  }
  mkdirSync(dir, { recursive: true });
  const platform = createPlatform({});
  writePlatform(platform, dir);
  return { platform, created: true };
}
