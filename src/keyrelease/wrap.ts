import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { KeyReleaseError } from './errors.js';

/**
 * The enclave's own key from the token (SKR convention, docs/keyrelease.md §Wrapping): the first RSA key in
 * `x-ms-runtime.keys` whose `key_ops` contains `encrypt` or whose `use` is `enc`.
 */
export function enclaveKey(claims: Record<string, unknown>): JWK {
  const keys = (claims['x-ms-runtime'] as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys)) throw new KeyReleaseError(400, 'InvalidTarget', 'token has no x-ms-runtime.keys (attest with JSON runtime data carrying the enclave\'s RSA public key)');
  const k = keys.find((x: JWK) => x && x.kty === 'RSA' && typeof x.n === 'string' && typeof x.e === 'string' && (x.key_ops?.includes('encrypt') || x.use === 'enc'));
  if (!k) throw new KeyReleaseError(400, 'InvalidTarget', 'x-ms-runtime.keys has no RSA key for encryption (key_ops "encrypt" or use "enc")');
  return k as JWK;
}

/** The secret as a compact JWE (RSA-OAEP-256 + A256GCM) only the enclave's private key opens. */
export async function wrapForEnclave(secret: Uint8Array, key: JWK, aad: Record<string, unknown>): Promise<string> {
  let pub;
  try {
    pub = await importJWK({ kty: 'RSA', n: key.n, e: key.e }, 'RSA-OAEP-256');
  } catch (e) {
    throw new KeyReleaseError(400, 'InvalidTarget', `x-ms-runtime.keys: not a usable RSA key (${(e as Error).message})`);
  }
  return new CompactEncrypt(secret).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', ...(key.kid ? { kid: key.kid } : {}), ...aad }).encrypt(pub);
}
