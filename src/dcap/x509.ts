import { X509Certificate, createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toHex, bytesEqual } from '../lib/bytes.js';
import { isPem, pemBlocks } from '../lib/pem.js';
import { CollateralError } from './errors.js';

/** A parsed certificate: node's X509Certificate for signatures, pkijs for names in their DER form. */
export interface Cert {
  der: Uint8Array;
  x509: X509Certificate;
  publicKey: KeyObject;
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  subjectCn: string;
  /** Upper-case hex, no leading zero bytes (as CRLs list them). */
  serial: string;
  notBefore: number; // unix ms
  notAfter: number;
  spkiSha256: string;
  /** The pkijs form, for extensions (the PCK certificate's SGX extension is read from it, not parsed again). */
  parsed: pkijs.Certificate;
}

function rdnBytes(n: pkijs.RelativeDistinguishedNames): Uint8Array {
  const v = (n as unknown as { valueBeforeDecode?: ArrayBuffer }).valueBeforeDecode;
  return new Uint8Array(v && v.byteLength ? v : n.toSchema().toBER(false));
}

function cnOf(n: pkijs.RelativeDistinguishedNames): string {
  const t = n.typesAndValues.find((x) => x.type === '2.5.4.3');
  return t ? String(t.value.valueBlock.value) : '';
}

export function serialHex(b: Uint8Array): string {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return toHex(b.subarray(i)).toUpperCase();
}

export function parseCert(der: Uint8Array, what: string): Cert {
  let x509: X509Certificate;
  let pk: pkijs.Certificate;
  try {
    x509 = new X509Certificate(der);
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw new CollateralError(`not DER: ${asn.result.error}`);
    pk = new pkijs.Certificate({ schema: asn.result });
  } catch (e) {
    throw new CollateralError(`${what}: not a valid X.509 certificate (${(e as Error).message})`);
  }
  const publicKey = x509.publicKey;
  return {
    der,
    x509,
    publicKey,
    subjectDer: rdnBytes(pk.subject),
    issuerDer: rdnBytes(pk.issuer),
    subjectCn: cnOf(pk.subject),
    serial: serialHex(new Uint8Array(pk.serialNumber.valueBlock.valueHexView)),
    notBefore: pk.notBefore.value.getTime(),
    notAfter: pk.notAfter.value.getTime(),
    spkiSha256: createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex'),
    parsed: pk,
  };
}

/** `child` names `parent` as issuer and carries its signature. */
export function issuedBy(child: Cert, parent: Cert): boolean {
  if (!bytesEqual(child.issuerDer, parent.subjectDer)) return false;
  try {
    return child.x509.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export interface Crl {
  der: Uint8Array;
  issuerDer: Uint8Array;
  issuerCn: string;
  thisUpdate: number;
  nextUpdate: number | null;
  revoked: Set<string>;
  crlNumber: string | null;
  tbs: Uint8Array;
  signature: Uint8Array;
  signatureOid: string;
}

const SIG_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
};

export function parseCrl(der: Uint8Array, what: string): Crl {
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw new CollateralError(`not DER: ${asn.result.error}`);
    const crl = new pkijs.CertificateRevocationList({ schema: asn.result });
    const revoked = new Set<string>();
    for (const rc of crl.revokedCertificates ?? []) {
      revoked.add(serialHex(new Uint8Array(rc.userCertificate.valueBlock.valueHexView)));
    }
    const numExt = crl.crlExtensions?.extensions.find((e) => e.extnID === '2.5.29.20');
    let crlNumber: string | null = null;
    if (numExt) {
      const n = asn1js.fromBER(numExt.extnValue.valueBlock.valueHexView);
      if (n.result instanceof asn1js.Integer) crlNumber = n.result.valueBlock.toString();
    }
    return {
      der,
      issuerDer: rdnBytes(crl.issuer),
      issuerCn: cnOf(crl.issuer),
      thisUpdate: crl.thisUpdate.value.getTime(),
      nextUpdate: crl.nextUpdate ? crl.nextUpdate.value.getTime() : null,
      revoked,
      crlNumber,
      tbs: new Uint8Array(crl.tbsView),
      signature: new Uint8Array(crl.signatureValue.valueBlock.valueHexView),
      signatureOid: crl.signatureAlgorithm.algorithmId,
    };
  } catch (e) {
    if (e instanceof CollateralError) throw e;
    throw new CollateralError(`${what}: not a valid DER CRL (${(e as Error).message})`);
  }
}

/** CRL issued by `ca`: names it as issuer and carries its signature. */
export function crlSignedBy(crl: Crl, ca: Cert): boolean {
  if (!bytesEqual(crl.issuerDer, ca.subjectDer)) return false;
  const hash = SIG_HASH[crl.signatureOid];
  if (!hash) return false;
  try {
    return cryptoVerify(hash, crl.tbs, ca.publicKey, crl.signature);
  } catch {
    return false;
  }
}


/** Certificates from PEM text (one or several) or a list of DER blobs. */
export function certsFrom(input: string | Uint8Array[] | undefined, what: string): Cert[] {
  if (input === undefined) return [];
  if (typeof input === 'string') {
    const text = input.includes('%2D') || input.includes('%0A') ? decodeURIComponent(input) : input;
    const blocks = pemBlocks(text).filter((b) => b.label === 'CERTIFICATE');
    if (blocks.length === 0) throw new CollateralError(`${what}: no PEM certificate found`);
    return blocks.map((b, i) => parseCert(b.der, `${what} certificate ${i + 1}`));
  }
  return input.map((d, i) => (isPem(d) ? certsFrom(Buffer.from(d).toString('latin1'), what) : [parseCert(d, `${what} certificate ${i + 1}`)])).flat();
}

/** A CRL given as DER or PEM. */
export function crlFrom(b: Uint8Array, what: string): Crl {
  if (isPem(b)) {
    const block = pemBlocks(Buffer.from(b).toString('latin1')).find((x) => x.label === 'X509 CRL');
    if (!block) throw new CollateralError(`${what}: no PEM X509 CRL block found`);
    return parseCrl(block.der, what);
  }
  return parseCrl(b, what);
}
