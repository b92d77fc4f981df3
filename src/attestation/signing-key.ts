import { createHash, createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { SigningKeyRecord } from './deps.js';

const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/**
 * MAA's kid (docs/attestation.md §Signing keys, verified): base64(SHA-256(PEM(SubjectPublicKeyInfo) + "\0")), the Open Enclave
 * attestation-certificate convention. It depends only on the key, so re-issuing the certificate keeps the kid.
 */
export function maaKid(publicKey: KeyObject): string {
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return createHash('sha256').update(pem, 'utf8').update(Buffer.from([0])).digest('base64');
}

/**
 * A fresh token signing key: RSA-2048 with a self-signed certificate whose subject and issuer are
 * `CN=<base URL>` (docs/attestation.md §Signing keys; the .NET sample checks `Issuer == "CN=" + iss`).
 */
export async function createSigningKey(baseUrl: string, now: number): Promise<SigningKeyRecord> {
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
  const pkcs8 = Buffer.from(await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const certificatePem = cert.toString('pem');
  return {
    kid: maaKid(createPublicKey(privateKey)),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certificatePem,
    createdAt: now,
    activeFrom: now,
    retiredAt: null,
  };
}

export interface LoadedKey {
  record: SigningKeyRecord;
  privateKey: KeyObject;
  certDer: Uint8Array;
}

export function loadSigningKey(record: SigningKeyRecord): LoadedKey {
  const cert = new X509Certificate(record.certificatePem);
  return { record, privateKey: createPrivateKey(record.privateKeyPem), certDer: new Uint8Array(cert.raw) };
}
