import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfkubeError } from '../lib/errors.js';

/**
 * Private keys are never stored in plaintext (docs/key-protection.md): the store holds them sealed by a
 * `KeyProtector`. The built-in one is AES-256-GCM under a key-encryption key (KEK) the operator gives in a
 * file or an environment variable; a key management service or an HSM plugs in by implementing the same
 * two calls (wrap and unwrap under a key it never hands out).
 */
export interface KeyProtector {
  /** Names the KEK (not the key itself): written next to every sealed value, so a wrong KEK is named, not guessed. */
  readonly id: string;
  /** Seals PLAINTEXT; AAD binds it to its purpose (e.g. the signing key's kid), so a sealed value cannot be moved to another row. */
  seal(plaintext: Uint8Array, aad: string): Promise<string>;
  open(sealed: string, aad: string): Promise<Uint8Array>;
}

/** A sealed value cannot be opened: wrong KEK, tampered, or bound to another purpose. */
export class KeyProtectionError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_KEY_PROTECTION', message);
  }
}

const PREFIX = 'confkube-sealed:v1:aes-256-gcm';

/** True for any value written by a KeyProtector of this format (and for any `confkube-sealed:` value of another). */
export function isSealed(v: string): boolean {
  return v.startsWith('confkube-sealed:');
}

/**
 * AES-256-GCM with a fresh 96-bit IV per seal (NIST SP 800-38D §8.2.2: random IVs are safe far beyond the
 * number of keys a service ever seals). Format: `confkube-sealed:v1:aes-256-gcm:<kek id>:<iv>:<ciphertext>:<tag>`,
 * base64url parts.
 */
export class AesGcmKeyProtector implements KeyProtector {
  readonly id: string;
  readonly #kek: Buffer;

  constructor(kek: Uint8Array) {
    if (kek.byteLength !== 32) throw new KeyProtectionError(`the key-encryption key must be 32 bytes (AES-256), got ${kek.byteLength}`);
    this.#kek = Buffer.from(kek);
    this.id = kekId(kek);
  }

  async seal(plaintext: Uint8Array, aad: string): Promise<string> {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#kek, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return [PREFIX, this.id, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join(':');
  }

  async open(sealed: string, aad: string): Promise<Uint8Array> {
    if (!sealed.startsWith(`${PREFIX}:`)) throw new KeyProtectionError(`${aad}: not sealed with ${PREFIX} (starts ${JSON.stringify(sealed.slice(0, 24))})`);
    const parts = sealed.slice(PREFIX.length + 1).split(':');
    if (parts.length !== 4) throw new KeyProtectionError(`${aad}: sealed value has ${parts.length} parts, expected 4`);
    const [id, iv, ct, tag] = parts as [string, string, string, string];
    if (id !== this.id) throw new KeyProtectionError(`${aad} is sealed under key-encryption key ${id}, but the configured one is ${this.id}`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.#kek, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return new Uint8Array(Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]));
    } catch {
      throw new KeyProtectionError(`${aad} does not open under key-encryption key ${this.id}: tampered, or sealed for another purpose`);
    }
  }
}

/** A public name for a KEK: 8 bytes of a domain-separated SHA-256, enough to tell KEKs apart, nothing about the key. */
export function kekId(kek: Uint8Array): string {
  return createHash('sha256').update('confkube kek id\0').update(kek).digest().subarray(0, 8).toString('hex');
}

/** The 32 KEK bytes from text: 64 hex digits or base64/base64url of 32 bytes, surrounding whitespace ignored. */
export function parseKek(text: string, where: string): Uint8Array {
  const t = text.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) bytes = Buffer.from(t, 'base64');
  if (bytes === null || bytes.length !== 32) {
    throw new KeyProtectionError(`${where}: a key-encryption key is 32 random bytes written as 64 hex digits or 44 base64 characters (e.g. \`openssl rand -base64 32\`), got ${t.length} characters`);
  }
  return new Uint8Array(bytes);
}

/** A new KEK as the text parseKek reads (base64, newline-terminated). */
export function newKekText(): string {
  return `${randomBytes(32).toString('base64')}\n`;
}
