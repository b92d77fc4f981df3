import { badRequest } from './errors.js';

/**
 * api-version values accepted on attest, policy and certificate routes (docs/attestation.md §api-version): 2020-10-01 (what the
 * SDKs send), 2022-08-01 (adds `nonce`) and the later dated versions as aliases. /certs and the OpenID document
 * take none.
 */
const KNOWN = new Set(['2020-10-01', '2022-08-01', '2022-09-01-preview', '2023-04-01-preview', '2024-02-01-preview', '2025-06-01']);

export function checkApiVersion(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw badRequest('api-version: query parameter missing (use 2020-10-01 or 2022-08-01)', 'InvalidApiVersion');
  if (!KNOWN.has(v)) throw badRequest(`api-version: ${JSON.stringify(v.slice(0, 40))} is not supported (use 2020-10-01 or 2022-08-01)`, 'InvalidApiVersion');
  return v;
}

/** `nonce` exists from 2022-08-01 on. */
export function supportsNonce(v: string): boolean {
  return v >= '2022-08-01';
}
