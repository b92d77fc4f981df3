import { createHash } from 'node:crypto';

/**
 * `x-ms-policy-hash` exactly as Azure computes it (docs/policy.md §Policy hash, verified against real tokens):
 * base64url(SHA-256(UTF-8(base64url(UTF-8(policy text))))), no padding — the hash of the `AttestationPolicy`
 * string of the stored JWS, not of the text itself.
 */
export function policyHash(text: string): string {
  const encoded = Buffer.from(text, 'utf8').toString('base64url');
  return createHash('sha256').update(encoded, 'utf8').digest('base64url');
}
