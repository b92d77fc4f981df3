import { compactVerify, importX509 } from 'jose';
import { KeyReleaseError } from './errors.js';

export interface TokenKeys { keys: { kid: string; x5c: string[] }[] }

/**
 * A token this service issued: RS256, `kid` in the service's own JWKS, `iss` its base URL, within nbf/exp.
 * Strict, unlike the SDK (docs/keyrelease.md §Token check): no `alg: none`, no key taken from the token itself.
 */
export async function verifyServiceToken(token: string, jwks: TokenKeys, issuer: string, nowS: number): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3) throw new KeyReleaseError(400, 'InvalidTarget', 'target: not a compact JWS');
  let header: { alg?: string; kid?: string };
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    throw new KeyReleaseError(400, 'InvalidTarget', 'target: header is not JSON');
  }
  if (header.alg !== 'RS256') throw new KeyReleaseError(400, 'InvalidTarget', `target: alg ${JSON.stringify(header.alg)}, expected RS256`);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new KeyReleaseError(400, 'InvalidTarget', 'target: not signed by a key of this service');
  const pem = `-----BEGIN CERTIFICATE-----\n${jwk.x5c[0]}\n-----END CERTIFICATE-----`;
  let payload: Record<string, unknown>;
  try {
    const r = await compactVerify(token, await importX509(pem, 'RS256'));
    payload = JSON.parse(new TextDecoder().decode(r.payload));
  } catch {
    throw new KeyReleaseError(400, 'InvalidTarget', 'target: signature does not verify');
  }
  if (payload.iss !== issuer) throw new KeyReleaseError(400, 'InvalidTarget', `target: iss ${JSON.stringify(payload.iss)} is not ${issuer}`);
  if (typeof payload.exp !== 'number' || nowS > payload.exp) throw new KeyReleaseError(400, 'InvalidTarget', 'target: token expired');
  if (typeof payload.nbf === 'number' && nowS < payload.nbf - 60) throw new KeyReleaseError(400, 'InvalidTarget', 'target: token not yet valid');
  return payload;
}
