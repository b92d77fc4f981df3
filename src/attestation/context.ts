import type { AttestationStore, PolicyEngine } from './deps.js';
import type { Attester } from './attest.js';
import type { CollateralCache } from './collateral-cache.js';
import type { Keyring } from './keyring.js';
import type { ServiceMetrics } from './metrics.js';
import type { PolicyBook } from './policies.js';
import type { AdminAuth } from './admin-auth.js';
import type { ManagementSigner } from './management-token.js';
import type { PolicyPool } from './policy-pool.js';
import type { SignedRequestGuard } from './signed-request.js';

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
  /** Every management call (read or write) needs a configured admin bearer token; repeated 401s are throttled. */
  admin: AdminAuth;
  /** Signs management answers with a key that is not in `/certs`. */
  managementSigner: ManagementSigner;
  /** Isolated mode (docs/attestation.md §Admin authentication): signed bodies from registered certificates, each counted once. */
  signedRequests: SignedRequestGuard;
}
