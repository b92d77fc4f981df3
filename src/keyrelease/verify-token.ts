import { compactVerify, importJWK, importX509, type CryptoKey } from 'jose';
import { KeyReleaseError } from './errors.js';

/** A JWK Set as attestation services publish it (`/certs`): each key by `kid`, with `x5c` (leaf first) or RSA `n`/`e`. */
export interface TokenKeys { keys: { kid: string; x5c?: string[]; kty?: string; n?: string; e?: string }[] }

/** Another attestation service whose tokens this service accepts for release, with its keys as the operator gave them. */
export interface TrustedIssuer { issuer: string; jwks: TokenKeys }

const bad = (msg: string): KeyReleaseError => new KeyReleaseError(400, 'InvalidTarget', `target: ${msg}`);
export const sameIssuer = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * A JWK Set file for `--trusted-issuer` (docs/keyrelease.md §Trusted issuers): `{"keys": [{"kid", "x5c": [...]} |
 * {"kid", "kty": "RSA", "n", "e"}]}`, checked here so a bad file stops the service at start.
 */
export function parseTokenKeys(json: unknown, where: string): TokenKeys {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new KeyReleaseError(400, 'BadParameter', `${where}: expected a JWK Set {"keys": [...]} with at least one key`);
  keys.forEach((k: Record<string, unknown>, i) => {
    const ok = k && typeof k.kid === 'string' && ((Array.isArray(k.x5c) && typeof k.x5c[0] === 'string') || (k.kty === 'RSA' && typeof k.n === 'string' && typeof k.e === 'string'));
    if (!ok) throw new KeyReleaseError(400, 'BadParameter', `${where}: keys[${i}] needs a "kid" and an "x5c" certificate or RSA "n" and "e"`);
  });
  return { keys: keys as TokenKeys['keys'] };
}

async function publicKeyOf(k: TokenKeys['keys'][number]): Promise<CryptoKey> {
  if (k.x5c?.[0]) return importX509(`-----BEGIN CERTIFICATE-----\n${k.x5c[0]}\n-----END CERTIFICATE-----`, 'RS256');
  return (await importJWK({ kty: 'RSA', n: k.n, e: k.e }, 'RS256')) as CryptoKey;
}

/**
 * A token of this service or of an issuer the operator trusts: RS256, `kid` in that issuer's keys, `iss` that
 * issuer, within nbf/exp. Strict, unlike the SDK (docs/keyrelease.md §Token check): no `alg: none`, no key taken from
 * the token itself, and an issuer's keys never verify another issuer's tokens.
 */
export async function verifyToken(token: string, issuers: readonly TrustedIssuer[], nowS: number): Promise<Record<string, unknown>> {
  const parts = token.split('.');
  if (parts.length !== 3) throw bad('not a compact JWS');
  let header: { alg?: string; kid?: string };
  let claimed: { iss?: unknown };
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claimed = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    throw bad('header or payload is not JSON');
  }
  if (header.alg !== 'RS256') throw bad(`alg ${JSON.stringify(header.alg)}, expected RS256`);
  // The claimed issuer only picks the key set; the signature then has to verify under one of that issuer's keys.
  const issuer = issuers.find((i) => typeof claimed?.iss === 'string' && sameIssuer(i.issuer, claimed.iss));
  if (!issuer) throw bad(`iss ${JSON.stringify(claimed?.iss ?? null).slice(0, 100)} is neither this service nor a trusted issuer`);
  const jwk = issuer.jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw bad(`not signed by a key of ${issuer.issuer}`);
  let payload: Record<string, unknown>;
  try {
    const r = await compactVerify(token, await publicKeyOf(jwk));
    payload = JSON.parse(new TextDecoder().decode(r.payload));
  } catch {
    throw bad('signature does not verify');
  }
  if (typeof payload.iss !== 'string' || !sameIssuer(payload.iss, issuer.issuer)) throw bad(`iss ${JSON.stringify(payload.iss)} is not ${issuer.issuer}`);
  if (typeof payload.exp !== 'number' || nowS > payload.exp) throw bad('token expired');
  if (typeof payload.nbf === 'number' && nowS < payload.nbf - 60) throw bad('token not yet valid');
  return payload;
}

/** A token this service issued (verifyToken with no other issuer). */
export function verifyServiceToken(token: string, jwks: TokenKeys, issuer: string, nowS: number): Promise<Record<string, unknown>> {
  return verifyToken(token, [{ issuer, jwks }], nowS);
}
