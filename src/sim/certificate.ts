import { createHash } from 'node:crypto';
import * as der from './der.js';
import { signRaw, type SimKey } from './keys.js';

/** ecdsa-with-SHA256 (RFC 5758 §3.2): the only algorithm in Intel's SGX PKI. */
export const ECDSA_WITH_SHA256 = der.seq(der.oid('1.2.840.10045.4.3.2'));

/** A distinguished name in Intel's attribute order and string types (CN, O, L, ST as UTF8String; C printable). */
export interface SimName {
  cn: string;
  o: string;
  l: string;
  st: string;
  c: string;
}

export function encodeName(n: SimName): Uint8Array {
  const rdn = (type: string, value: Uint8Array) => der.set(der.seq(der.oid(type), value));
  return der.seq(
    rdn('2.5.4.3', der.utf8(n.cn)),
    rdn('2.5.4.10', der.utf8(n.o)),
    rdn('2.5.4.7', der.utf8(n.l)),
    rdn('2.5.4.8', der.utf8(n.st)),
    rdn('2.5.4.6', der.printable(n.c)),
  );
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(key: SimKey): Uint8Array {
  return new Uint8Array(createHash('sha1').update(key.publicSec1).digest());
}

function spki(key: SimKey): Uint8Array {
  return der.seq(der.seq(der.oid('1.2.840.10045.2.1'), der.oid('1.2.840.10045.3.1.7')), der.bitString(key.publicSec1));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? der.seq(der.oid(id), der.bool(true), der.octets(value)) : der.seq(der.oid(id), der.octets(value));
}

export interface CertSpec {
  serial: Uint8Array;
  issuer: SimName;
  issuerKey: SimKey;
  subject: SimName;
  subjectKey: SimKey;
  notBefore: Date;
  notAfter: Date;
  /** CA: basicConstraints CA:TRUE with this pathlen, keyCertSign+cRLSign; otherwise an end entity. */
  caPathLen?: number;
  crlDistributionPoint: string;
  /** Further extensions (already DER-encoded Extension SEQUENCEs), appended last as Intel's PCK certificates do. */
  extra?: Uint8Array[];
}

/** An SGX-PKI style certificate: AKI, CRL DP, SKI, key usage, basic constraints (Intel's order), signed by the issuer. */
export function buildCertificate(s: CertSpec): Uint8Array {
  const aki = der.seq(der.implicitPrim(0, keyIdentifier(s.issuerKey)));
  const crlDp = der.seq(der.seq(der.explicit(0, der.explicit(0, der.implicitPrim(6, new TextEncoder().encode(s.crlDistributionPoint))))));
  const ski = der.octets(keyIdentifier(s.subjectKey));
  const isCa = s.caPathLen !== undefined;
  // KeyUsage bits: digitalSignature(0), nonRepudiation(1) for signers; keyCertSign(5), cRLSign(6) for CAs.
  const ku = der.namedBits(isCa ? [5, 6] : [0, 1]);
  const bc = isCa ? der.seq(der.bool(true), der.int(s.caPathLen!)) : der.seq();
  const exts = [
    extension('2.5.29.35', false, aki),
    extension('2.5.29.31', false, crlDp),
    extension('2.5.29.14', false, ski),
    extension('2.5.29.15', true, ku),
    extension('2.5.29.19', true, bc),
    ...(s.extra ?? []),
  ];
  const tbs = der.seq(
    der.explicit(0, der.int(2)),
    der.int(s.serial),
    ECDSA_WITH_SHA256,
    encodeName(s.issuer),
    der.seq(der.time(s.notBefore), der.time(s.notAfter)),
    encodeName(s.subject),
    spki(s.subjectKey),
    der.explicit(3, der.seq(...exts)),
  );
  return der.seq(tbs, ECDSA_WITH_SHA256, der.bitString(der.ecdsaSigDer(signRaw(s.issuerKey, tbs))));
}

/** A non-critical extension with a DER value, for `CertSpec.extra`. */
export function rawExtension(id: string, value: Uint8Array): Uint8Array {
  return extension(id, false, value);
}

export { toPem } from '../lib/pem.js';
