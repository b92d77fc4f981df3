import { createHmac, createPublicKey, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';

/** Order of the P-256 group (FIPS 186-4 D.1.2.3). */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** A P-256 key pair derived from the platform seed. */
export interface SimKey {
  /** 32-byte big-endian private scalar. */
  privateKey: Uint8Array;
  /** Raw X‖Y (64 bytes), the form quotes carry. */
  publicXY: Uint8Array;
  /** Uncompressed SEC1 point (0x04 ‖ X ‖ Y), the form certificates carry. */
  publicSec1: Uint8Array;
}

/** Deterministic bytes for a label: HMAC-SHA256(seed, label), extended by a counter when more are needed. */
export function derive(seed: string, label: string, n = 32): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, o = 0; o < n; i++) {
    const h = createHmac('sha256', seed).update(`${label}#${i}`).digest();
    out.set(h.subarray(0, Math.min(32, n - o)), o);
    o += 32;
  }
  return out;
}

function toBytes32(v: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
}

/** Key for a label: HMAC-SHA256(seed, label) reduced into [1, n-1]. */
export function deriveKey(seed: string, label: string): SimKey {
  const d = (BigInt(`0x${Buffer.from(derive(seed, `key:${label}`)).toString('hex')}`) % (N - 1n)) + 1n;
  return keyFromPrivate(toBytes32(d));
}

export function keyFromPrivate(privateKey: Uint8Array): SimKey {
  const publicSec1 = p256.getPublicKey(privateKey, false);
  return { privateKey, publicSec1, publicXY: publicSec1.subarray(1) };
}

/** Deterministic ECDSA P-256/SHA-256 (RFC 6979): raw r‖s, 64 bytes, as Intel's formats carry it. */
export function signRaw(key: SimKey, message: Uint8Array): Uint8Array {
  return p256.sign(message, key.privateKey, { prehash: true, lowS: false });
}

/** node:crypto public key of a simulated key (for callers that verify). */
export function publicKeyObject(key: SimKey): KeyObject {
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(key.publicXY.subarray(0, 32)).toString('base64url'), y: Buffer.from(key.publicXY.subarray(32)).toString('base64url') },
    format: 'jwk',
  });
}
