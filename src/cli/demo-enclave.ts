import { createHash } from 'node:crypto';

/**
 * The demo's enclave (docs/enclave-apps.md §Simulated attestation directory): the identity `confkube demo` and
 * `confkube sim attestation-dir` give simulated quotes by default, and the demo key's release policy names.
 */
export const DEMO_ENCLAVE = {
  mrEnclave: new Uint8Array(createHash('sha256').update('confkube demo enclave').digest()),
  mrSigner: new Uint8Array(createHash('sha256').update('confkube demo signer').digest()),
  isvProdId: 1,
  isvSvn: 1,
} as const;

/** The demo's data folder, and its simulated platform inside it. */
export const DEMO_DATA_DIR = '.confkube';
export const DEMO_PLATFORM_SUBDIR = 'sim';
