import { constants, createDecipheriv, privateDecrypt, type KeyObject } from 'node:crypto';
import { ClientError } from './errors.js';

export interface OpenedJwe {
  plaintext: Uint8Array;
  header: Record<string, unknown>;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

function part(s: string, what: string): Buffer {
  if (!B64URL.test(s)) throw new ClientError('ERR_CLIENT_JWE_INVALID', `JWE ${what} is not base64url`);
  return Buffer.from(s, 'base64url');
}

/**
 * Open the compact JWE the service answers a release with (docs/enclave-apps.md §Unwrapping): RSA-OAEP-256 key
 * encryption to the enclave's key, A256GCM content encryption, the protected header as additional data
 * (RFC 7516 §5.2). Anything else — another algorithm, compression, a wrong tag — is refused.
 */
export function openJwe(compact: string, privateKey: KeyObject): OpenedJwe {
  const parts = typeof compact === 'string' ? compact.split('.') : [];
  if (parts.length !== 5) throw new ClientError('ERR_CLIENT_JWE_INVALID', `the released value is not a compact JWE (${parts.length} parts, expected 5)`);
  const [h, ek, ivPart, ct, tagPart] = parts;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(part(h, 'protected header').toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError('ERR_CLIENT_JWE_INVALID', 'JWE protected header is not JSON');
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ClientError('ERR_CLIENT_JWE_INVALID', 'JWE protected header is not a JSON object');
  if (header.alg !== 'RSA-OAEP-256' || header.enc !== 'A256GCM') {
    throw new ClientError('ERR_CLIENT_JWE_INVALID', `JWE uses alg ${JSON.stringify(header.alg)}, enc ${JSON.stringify(header.enc)}; expected RSA-OAEP-256 and A256GCM`);
  }
  if (header.zip !== undefined || header.crit !== undefined) throw new ClientError('ERR_CLIENT_JWE_INVALID', `JWE header has ${header.zip !== undefined ? '"zip"' : '"crit"'}, which the client does not support`);
  const iv = part(ivPart, 'initialization vector');
  const tag = part(tagPart, 'authentication tag');
  if (iv.length !== 12 || tag.length !== 16) throw new ClientError('ERR_CLIENT_JWE_INVALID', `JWE A256GCM needs a 12-byte IV and a 16-byte tag, got ${iv.length} and ${tag.length}`);
  let cek: Buffer;
  try {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, part(ek, 'encrypted key'));
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError('ERR_CLIENT_JWE_INVALID', 'JWE encrypted key does not open with the enclave key (not wrapped to this enclave, or altered)');
  }
  if (cek.length !== 32) throw new ClientError('ERR_CLIENT_JWE_INVALID', `JWE content key is ${cek.length} bytes, A256GCM needs 32`);
  try {
    const d = createDecipheriv('aes-256-gcm', cek, iv);
    d.setAAD(Buffer.from(h, 'ascii'));
    d.setAuthTag(tag);
    const plaintext = Buffer.concat([d.update(part(ct, 'ciphertext')), d.final()]);
    return { plaintext: new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length), header };
  } catch (e) {
    if (e instanceof ClientError) throw e;
    throw new ClientError('ERR_CLIENT_JWE_INVALID', 'JWE authentication failed: the ciphertext, IV, tag or protected header was altered');
  } finally {
    cek.fill(0);
  }
}
