import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { badRequest } from './errors.js';
import { b64url } from './base64.js';

/** A compact JWS as the policy endpoints receive it (docs/attestation.md §Policy management; docs/attestation.md §Policy management certificates). */
export interface ParsedJws {
  raw: string;
  header: Record<string, unknown>;
  payloadBytes: Uint8Array;
  /** The certificate in `x5c[0]` when the JWS is signed (verified against it). */
  signer: X509Certificate | null;
}

/**
 * The JWS algorithms a policy-management signature may use: every RSA and ECDSA algorithm of RFC 7518 that
 * MAA's isolated mode takes from a signer certificate (docs/policy-signing.md). HMAC has no certificate; `none`
 * is an unsigned body, handled apart.
 */
export const POLICY_JWS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

/** The Microsoft docs' signed-policy sample says `"alg":"RSA256"` (sic, docs/policy-signing.md): RS256 under another name. */
const RS256_ALIAS = 'RSA256';

function b64urlDecode(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw badRequest(`${what}: not base64url`, 'InvalidPolicy');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

function signerCertificate(header: Record<string, unknown>, what: string, nowMs: number): X509Certificate {
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') throw badRequest(`${what}: signed JWS without an x5c certificate`, 'InvalidPolicy');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(x5c[0], 'base64'));
  } catch {
    throw badRequest(`${what}: x5c[0] is not an X.509 certificate`, 'InvalidPolicy');
  }
  checkValidity(cert, nowMs, `${what} signer certificate`);
  return cert;
}

/** A certificate that has lapsed (or is not valid yet) carries no authority, as for any X.509 signature. */
export function checkValidity(cert: X509Certificate, nowMs: number, what: string): void {
  if (nowMs < Date.parse(cert.validFrom)) throw badRequest(`${what}: not valid before ${new Date(cert.validFrom).toISOString()}`, 'InvalidPolicy');
  if (nowMs > Date.parse(cert.validTo)) throw badRequest(`${what}: expired at ${new Date(cert.validTo).toISOString()}`, 'InvalidPolicy');
}

/**
 * Parse and, if signed, verify a compact JWS against the certificate in its own `x5c` header, at `nowMs`.
 * Verification is jose's; the adapter only parses for precise error messages and maps Azure's quirks.
 */
export async function parseJws(text: string, what: string, nowMs: number): Promise<ParsedJws> {
  const raw = text.trim();
  const parts = raw.split('.');
  if (parts.length !== 3) throw badRequest(`${what}: not a compact JWS (expected 3 dot-separated parts, got ${parts.length})`, 'InvalidPolicy');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(b64urlDecode(parts[0], `${what} header`)).toString('utf8'));
  } catch (e) {
    throw badRequest(`${what}: header is not base64url JSON (${(e as Error).message})`, 'InvalidPolicy');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw badRequest(`${what}: header is not a JSON object`, 'InvalidPolicy');
  const payloadBytes = b64urlDecode(parts[1], `${what} payload`);
  const alg = header.alg;
  if (alg === 'none') {
    if (parts[2] !== '') throw badRequest(`${what}: alg none with a non-empty signature`, 'InvalidPolicy');
    return { raw, header, payloadBytes, signer: null };
  }
  if (typeof alg !== 'string' || (alg !== RS256_ALIAS && !(POLICY_JWS_ALGORITHMS as readonly string[]).includes(alg))) {
    throw badRequest(`${what}: unsupported alg ${JSON.stringify(alg)} (expected one of ${POLICY_JWS_ALGORITHMS.join(', ')})`, 'InvalidPolicy');
  }
  const cert = signerCertificate(header, what, nowMs);
  b64urlDecode(parts[2], `${what} signature`);
  if (alg === RS256_ALIAS) {
    const ok = createVerify('sha256').update(`${parts[0]}.${parts[1]}`, 'ascii').verify(cert.publicKey, Buffer.from(parts[2], 'base64url'));
    if (!ok) throw badRequest(`${what}: signature does not verify with its x5c certificate`, 'InvalidPolicy');
    return { raw, header, payloadBytes, signer: cert };
  }
  try {
    await compactVerify(raw, cert.publicKey, { algorithms: [alg] });
  } catch (e) {
    if (e instanceof joseErrors.JWSSignatureVerificationFailed) throw badRequest(`${what}: signature does not verify with its x5c certificate`, 'InvalidPolicy');
    // jose refuses a key that does not fit the alg (an EC key for RS256, P-256 for ES384, RSA under 2048 bits).
    throw badRequest(`${what}: ${alg} signature cannot be checked with its x5c certificate (${(e as Error).message})`, 'InvalidPolicy');
  }
  return { raw, header, payloadBytes, signer: cert };
}

/**
 * The policy text in a StoredAttestationPolicy payload `{"AttestationPolicy":"<b64url(text)>"}`. The 2018 signing
 * tool put the raw text there; if the value does not decode to something starting with `version`, take it raw (docs/attestation.md §Policy management).
 */
export function policyTextFromJws(jws: ParsedJws, what: string): string {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(jws.payloadBytes).toString('utf8'));
  } catch {
    throw badRequest(`${what}: payload is not JSON`, 'InvalidPolicy');
  }
  const v = (payload as Record<string, unknown> | null)?.AttestationPolicy;
  if (typeof v !== 'string' || v === '') throw badRequest(`${what}: payload has no AttestationPolicy string`, 'InvalidPolicy');
  if (/^[A-Za-z0-9_-]+$/.test(v)) {
    const text = Buffer.from(v, 'base64url').toString('utf8');
    if (/^\s*(\/\/[^\n]*\n\s*)*version/i.test(text)) return text;
  }
  return v;
}

/** `x-ms-policy-hash` = b64url(SHA-256(b64url(UTF-8 text))) (docs/policy.md §Policy hash, verified against real tokens). */
export function policyHash(text: string): string {
  return createHash('sha256').update(b64url(text), 'utf8').digest('base64url');
}

/** `x-ms-policy-token-hash` = b64url(SHA-256(the JWS exactly as received)) (docs/attestation.md §Policy management). */
export function policyTokenHash(jws: string): string {
  return createHash('sha256').update(jws, 'ascii').digest('base64url');
}

/** The unsecured StoredAttestationPolicy JWS of a text, as MAA returns for a never-set policy. */
export function unsecuredPolicyJws(text: string): string {
  return `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify({ AttestationPolicy: b64url(text) }))}.`;
}

/** SHA-1 thumbprint of a certificate, upper-case hex as .NET prints it (docs/attestation.md §Policy management certificates). */
export function thumbprint(cert: X509Certificate): string {
  return createHash('sha1').update(cert.raw).digest('hex').toUpperCase();
}

/** The signer JWK as MAA puts it in `x-ms-policy-signer`. */
export function signerJwk(cert: X509Certificate): Record<string, unknown> {
  return { kty: cert.publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'RSA', x5c: [cert.raw.toString('base64')] };
}
