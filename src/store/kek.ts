import { readFileSync, statSync } from 'node:fs';
import { AesGcmKeyProtector, KeyProtectionError, parseKek, type KeyProtector } from './sealed-key.js';

export interface KekSource {
  /** A file holding the KEK (64 hex digits or base64 of 32 bytes); should be 0600 or 0400. */
  file?: string | undefined;
  /** The KEK itself, e.g. from CONFKUBE_KEK (a Kubernetes Secret as an environment variable). */
  value?: string | undefined;
}

/**
 * The built-in KeyProtector from where the operator keeps the KEK: a file, or a value from the environment
 * (docs/key-protection.md). Exactly one. A file readable by group or others is used, with a warning: any
 * local user who reads it can open every sealed key.
 */
export function keyProtectorFrom(src: KekSource, warn: (msg: string) => void): KeyProtector {
  if (src.file !== undefined && src.value !== undefined) throw new KeyProtectionError('give the key-encryption key once: a file (--kek-file / CONFKUBE_KEK_FILE) or a value (CONFKUBE_KEK), not both');
  if (src.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(src.file, 'utf8');
    } catch (e) {
      throw new KeyProtectionError(`cannot read the key-encryption key file ${src.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const mode = statSync(src.file).mode & 0o777;
    if ((mode & 0o077) !== 0) warn(`key-encryption key file ${src.file} has mode ${mode.toString(8).padStart(4, '0')}: other local users can read it; chmod 600 it`);
    return new AesGcmKeyProtector(parseKek(text, `key-encryption key file ${src.file}`));
  }
  if (src.value !== undefined) return new AesGcmKeyProtector(parseKek(src.value, 'CONFKUBE_KEK'));
  throw new KeyProtectionError('no key-encryption key: give --kek-file FILE (or CONFKUBE_KEK_FILE, or CONFKUBE_KEK with the key itself); create one with `openssl rand -base64 32 > kek && chmod 600 kek`. Signing keys are stored sealed under it, never in plaintext');
}
