import * as der from './der.js';
import { ECDSA_WITH_SHA256, encodeName, keyIdentifier, type SimName } from './certificate.js';
import { signRaw, type SimKey } from './keys.js';

export interface CrlSpec {
  issuer: SimName;
  issuerKey: SimKey;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  /** Serial numbers (big-endian magnitudes) revoked at `thisUpdate` for key compromise. */
  revoked: Uint8Array[];
}

/**
 * A v2 CRL as Intel's PCS serves them (Intel SGX PCK Certificate and CRL Profile): issuer exactly the CA
 * subject, CRL Number and Authority Key Identifier extensions, entries with reason keyCompromise.
 */
export function buildCrl(s: CrlSpec): Uint8Array {
  const entries = s.revoked.map((serial) =>
    der.seq(der.int(serial), der.time(s.thisUpdate), der.seq(der.seq(der.oid('2.5.29.21'), der.octets(der.enumerated(1))))),
  );
  const exts = der.explicit(
    0,
    der.seq(
      der.seq(der.oid('2.5.29.20'), der.octets(der.int(s.crlNumber))),
      der.seq(der.oid('2.5.29.35'), der.octets(der.seq(der.implicitPrim(0, keyIdentifier(s.issuerKey))))),
    ),
  );
  const tbs = der.seq(
    der.int(1),
    ECDSA_WITH_SHA256,
    encodeName(s.issuer),
    der.time(s.thisUpdate),
    der.time(s.nextUpdate),
    ...(entries.length > 0 ? [der.seq(...entries)] : []),
    exts,
  );
  return der.seq(tbs, ECDSA_WITH_SHA256, der.bitString(der.ecdsaSigDer(signRaw(s.issuerKey, tbs))));
}
