import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
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

const HASHES: Record<string, { hash: string; ec?: boolean; pss?: boolean }> = {
  RS256: { hash: 'sha256' }, RS384: { hash: 'sha384' }, RS512: { hash: 'sha512' },
  // The MS docs' signed-policy sample says "RSA256" (sic, docs/attestation.md §Policy management): tolerated as RS256.
  RSA256: { hash: 'sha256' },
  PS256: { hash: 'sha256', pss: true }, PS384: { hash: 'sha384', pss: true },
  ES256: { hash: 'sha256', ec: true }, ES384: { hash: 'sha384', ec: true },
};

function b64urlDecode(s: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw badRequest(`${what}: not base64url`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** Parse and, if signed, verify a compact JWS against the certificate in its own `x5c` header. */
export function parseJws(text: string, what: string): ParsedJws {
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
  const spec = typeof alg === 'string' ? HASHES[alg] : undefined;
  if (!spec) throw badRequest(`${what}: unsupported alg ${JSON.stringify(alg)}`, 'InvalidPolicy');
  const x5c = header.x5c;
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') throw badRequest(`${what}: signed JWS without an x5c certificate`, 'InvalidPolicy');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(x5c[0], 'base64'));
  } catch {
    throw badRequest(`${what}: x5c[0] is not an X.509 certificate`, 'InvalidPolicy');
  }
  const sig = b64urlDecode(parts[2], `${what} signature`);
  const ok = cryptoVerify(spec.hash, Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), {
    key: cert.publicKey,
    ...(spec.ec ? { dsaEncoding: 'ieee-p1363' as const } : {}),
    ...(spec.pss ? { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 } : {}),
  }, sig);
  if (!ok) throw badRequest(`${what}: signature does not verify with its x5c certificate`, 'InvalidPolicy');
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
