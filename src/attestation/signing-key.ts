import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { SigningKeyRecord } from './deps.js';
import { isSealed, KeyProtectionError, type KeyProtector } from '../store/sealed-key.js';

const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/**
 * MAA's kid (docs/attestation.md §Signing keys, verified): base64(SHA-256(PEM(SubjectPublicKeyInfo) + "\0")), the Open Enclave
 * attestation-certificate convention. It depends only on the key, so re-issuing the certificate keeps the kid.
 */
export function maaKid(publicKey: KeyObject): string {
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return createHash('sha256').update(pem, 'utf8').update(Buffer.from([0])).digest('base64');
}

/** The AAD a signing key is sealed under: a sealed key copied into another row does not open there. */
export const sealPurpose = (kid: string): string => `confkube token signing key ${kid}`;

/**
 * A fresh token signing key: RSA-2048 with a self-signed certificate whose subject and issuer are
 * `CN=<base URL>` (docs/attestation.md §Signing keys; the .NET sample checks `Issuer == "CN=" + iss`). The private key leaves this
 * function only sealed by PROTECTOR (docs/key-protection.md). It signs from ACTIVEFROM (default: now).
 */
export async function createSigningKey(baseUrl: string, now: number, protector: KeyProtector, activeFrom = now): Promise<SigningKeyRecord> {
  const keys = (await globalThis.crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    // CN values with ',' '+' '=' would need escaping; a URL has none of them once validated by the caller.
    name: `CN=${baseUrl}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 86400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
  });
  const pkcs8 = new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const kid = maaKid(createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })));
  const sealedPrivateKey = await protector.seal(pkcs8, sealPurpose(kid));
  pkcs8.fill(0);
  return { kid, sealedPrivateKey, certificatePem: cert.toString('pem'), createdAt: now, activeFrom, retiredAt: null };
}

export interface LoadedKey {
  record: SigningKeyRecord;
  privateKey: KeyObject;
  certDer: Uint8Array;
}

/**
 * Opens a stored key. A row written before keys were sealed holds a PEM; it is read so the keyring can re-seal
 * it. The key must be the one its kid names: a row whose key was swapped is refused.
 */
export async function loadSigningKey(record: SigningKeyRecord, protector: KeyProtector): Promise<LoadedKey> {
  const cert = new X509Certificate(record.certificatePem);
  let privateKey: KeyObject;
  if (isSealed(record.sealedPrivateKey)) {
    const der = await protector.open(record.sealedPrivateKey, sealPurpose(record.kid));
    privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    der.fill(0);
  } else {
    privateKey = createPrivateKey(record.sealedPrivateKey);
  }
  if (maaKid(createPublicKey(privateKey)) !== record.kid) throw new KeyProtectionError(`signing key ${record.kid}: the stored private key is not the key its kid names`);
  return { record, privateKey, certDer: new Uint8Array(cert.raw) };
}
