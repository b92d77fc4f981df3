// Policy-management signers made in the test: a key pair and a self-signed certificate (via @peculiar/x509),
// and JWS bodies signed with jose, as an operator's tooling would make them.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { CompactSign } from 'jose';

export type JwsAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';
export const ALL_ALGS: JwsAlg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export interface Signer { alg: JwsAlg; key: KeyObject; keyPem: string; certPem: string; certB64: string }

const CURVE: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** A signer for `alg`, its certificate valid over [notBefore, notAfter] (default: yesterday to tomorrow). */
export async function makeSigner(alg: JwsAlg = 'RS256', o: { cn?: string; notBefore?: Date; notAfter?: Date } = {}): Promise<Signer> {
  const ec = alg.startsWith('ES');
  const algorithm = ec
    ? { name: 'ECDSA', namedCurve: CURVE[alg], hash: 'SHA-256' }
    : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '03', name: `CN=${o.cn ?? `confkube test signer ${alg}`}`,
    notBefore: o.notBefore ?? new Date(Date.now() - 86400_000), notAfter: o.notAfter ?? new Date(Date.now() + 86400_000),
    signingAlgorithm: algorithm, keys,
  });
  const key = createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  return { alg, key, keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, certPem: cert.toString('pem'), certB64: Buffer.from(cert.rawData).toString('base64') };
}

/** A compact JWS over `payload` ('' for a reset) with `x5c` and any extra protected-header parameters. */
export async function signJws(s: Signer, payload: string, header: Record<string, unknown> = {}): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: s.alg, x5c: [s.certB64], ...header }).sign(s.key);
}

export const policyPayload = (text: string): string => JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') });
export const certPayload = (s: Signer): string => JSON.stringify({ policyCertificate: { kty: s.alg.startsWith('ES') ? 'EC' : 'RSA', x5c: [s.certB64] } });
