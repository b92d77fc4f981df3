import { randomBytes } from 'node:crypto';
import { CompactSign } from 'jose';
import { AesGcmKeyProtector } from '../store/sealed-key.js';
import { b64std } from './base64.js';
import { createSigningKey, loadSigningKey, type LoadedKey } from './signing-key.js';
import { MANAGEMENT_TOKEN_LIFETIME_S, sortClaims, timeClaims } from './token.js';

/** `typ` of management tokens (RFC 8725 §3.11 explicit typing); attestation tokens keep MAA's `JWT`. */
export const MANAGEMENT_TOKEN_TYPE = 'policy-management+jwt';
/** Claim naming what a management token is, for relying parties that read claims rather than headers. */
export const CLAIM_TOKEN_USE = 'x-confkube-token-use';

const encoder = new TextEncoder();

/**
 * Management answers (policy get/set/reset, certificates) are signed by a key of their own, never by a token
 * signing key: its `kid` is not in `/certs`, so a relying party that checks an attestation token only by the
 * JWKS signature and the issuer cannot be handed a management token instead (docs/policy-signing.md §4). The
 * certificate rides in the token's `x5c`, which is where the Azure admin client looks when the `kid` is not
 * in the JWKS. The key lives in memory and is made on first use; each replica has its own.
 */
export class ManagementSigner {
  private key: Promise<LoadedKey> | null = null;

  constructor(private readonly baseUrl: string, private readonly now: () => number) {}

  async sign(body: Record<string, unknown>): Promise<string> {
    // Never stored: sealed under a key-encryption key that exists only in this process.
    const protector = new AesGcmKeyProtector(randomBytes(32));
    this.key ??= createSigningKey(this.baseUrl, this.now(), protector).then((r) => loadSigningKey(r, protector));
    const key = await this.key;
    const claims = { ...body, ...timeClaims(this.now(), MANAGEMENT_TOKEN_LIFETIME_S), iss: this.baseUrl, [CLAIM_TOKEN_USE]: 'policy-management' };
    return new CompactSign(encoder.encode(JSON.stringify(sortClaims(claims))))
      .setProtectedHeader({ alg: 'RS256', kid: key.record.kid, typ: MANAGEMENT_TOKEN_TYPE, x5c: [b64std(key.certDer)] })
      .sign(key.privateKey);
  }
}
