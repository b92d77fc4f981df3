import { randomBytes } from 'node:crypto';
import { CompactSign } from 'jose';
import { b64url } from './base64.js';
import type { LoadedKey } from './signing-key.js';

/** Lifetimes as real MAA issues them (docs/attestation.md §Token): attestation 8 h, management 1 h. */
export const ATTESTATION_TOKEN_LIFETIME_S = 28800;
export const MANAGEMENT_TOKEN_LIFETIME_S = 3600;

/** MAA serialises claims in alphabetical order (docs/attestation.md §Token); nobody depends on it, but it makes tokens comparable. */
export function sortClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(claims).sort()) if (claims[k] !== undefined) out[k] = claims[k];
  return out;
}

export function timeClaims(nowMs: number, lifetimeS: number): { iat: number; nbf: number; exp: number } {
  const iat = Math.floor(nowMs / 1000);
  return { iat, nbf: iat, exp: iat + lifetimeS };
}

/** 32 random bytes, lower-case hex, as MAA's `jti`. */
export function newTokenId(): string {
  return randomBytes(32).toString('hex');
}

const encoder = new TextEncoder();

/** RS256 JWS with MAA's header, exactly `alg, jku, kid, typ` in that order (docs/attestation.md §Token). */
export async function signToken(key: LoadedKey, baseUrl: string, claims: Record<string, unknown>): Promise<string> {
  return new CompactSign(encoder.encode(JSON.stringify(sortClaims(claims))))
    .setProtectedHeader({ alg: 'RS256', jku: `${baseUrl}/certs`, kid: key.record.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/** Unsecured token for draft policies: header `{"alg":"none"}`, empty signature (docs/attestation.md §Token). */
export function unsecuredToken(claims: Record<string, unknown>): string {
  return `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify(sortClaims(claims)))}.`;
}
