import { badRequest } from './errors.js';

/**
 * Decode base64url or standard base64, with or without padding (docs/attestation.md §Attest request: real clients send both).
 * Anything else is a 400 naming the field.
 */
export function decodeBase64Lenient(s: string, field: string): Uint8Array {
  const t = s.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(t)) {
    const at = t.search(/[^A-Za-z0-9+/_=-]/);
    throw badRequest(`${field}: not base64 or base64url (bad character at position ${at < 0 ? t.indexOf('=') : at})`);
  }
  const body = t.replace(/=+$/, '');
  if (body.length % 4 === 1) throw badRequest(`${field}: not base64 or base64url (impossible length ${body.length})`);
  const b = Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function b64url(b: Uint8Array | string): string {
  return Buffer.from(typeof b === 'string' ? Buffer.from(b, 'utf8') : b).toString('base64url');
}

export function b64std(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}
