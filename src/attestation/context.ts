import type { AttestationStore, PolicyEngine } from './deps.js';
import type { Attester } from './attest.js';
import type { CollateralCache } from './collateral-cache.js';
import type { Keyring } from './keyring.js';
import type { ServiceMetrics } from './metrics.js';
import type { PolicyBook } from './policies.js';
import type { PolicyPool } from './policy-pool.js';

/** What every route plugin receives: the service's parts, built once in service.ts. */
export interface ServiceContext {
  baseUrl: string;
  now: () => number;
  store: AttestationStore;
  engine: PolicyEngine;
  keyring: Keyring;
  policies: PolicyBook;
  collateral: CollateralCache;
  attester: Attester;
  /** Worker threads for draft policies. */
  drafts: PolicyPool;
  metrics: ServiceMetrics;
  /** AAD-like mode: bearer tokens allowed to write policies. Empty: no bearer accepted. */
  adminTokens: string[];
  /** Isolated mode (docs/attestation.md §Admin authentication): every policy write must be signed by a registered policy-management certificate. */
  isolated: boolean;
}
