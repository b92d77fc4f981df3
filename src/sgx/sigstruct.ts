import { createHash, createPublicKey, verify as cryptoVerify, constants } from 'node:crypto';
import { ByteReader, toHex } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { decodeAttributes, type Attributes } from './attributes.js';

/** SIGSTRUCT is 1808 bytes (Intel SDM Vol. 3D "Enclave Signature Structure"; docs/sgx.md §SIGSTRUCT). */
export const SIGSTRUCT_SIZE = 1808;
/** HEADER (bytes 0..15) and HEADER2 (24..39) are fixed. */
export const SIGSTRUCT_HEADER = Uint8Array.from([0x06, 0x00, 0x00, 0x00, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00]);
export const SIGSTRUCT_HEADER2 = Uint8Array.from([0x01, 0x01, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]);

export class SigstructError extends ConfkubeError {}

export interface Sigstruct {
  /** The 1808 bytes, a view into the input. */
  raw: Uint8Array;
  /** Bytes 12..15 of HEADER: 0 for production, 0x80000000 for a debug-signed (Intel) enclave. */
  headerType: number;
  vendor: number; // 16
  date: string; // 20, BCD yyyymmdd → YYYY-MM-DD
  dateRaw: number;
  swDefined: number; // 40
  modulus: Uint8Array; // 128, 384 bytes little-endian as stored
  exponent: number; // 512
  signature: Uint8Array; // 516, 384 bytes little-endian
  miscSelect: number; // 900
  miscMask: number; // 904
  isvFamilyId: Uint8Array; // 912
  attributes: Attributes; // 928
  attributesRaw: Uint8Array;
  attributeMask: { flags: bigint; xfrm: bigint }; // 944
  mrEnclave: Uint8Array; // 960, ENCLAVEHASH
  isvExtProdId: Uint8Array; // 1008
  isvProdId: number; // 1024
  isvSvn: number; // 1026
  q1: Uint8Array; // 1040
  q2: Uint8Array; // 1424
  /** SHA-256 of the modulus bytes as stored. */
  mrSigner: Uint8Array;
  /**
   * HEADER type bit 31 (`sgx_sign`'s RELEASETYPE): a SIGSTRUCT signed for debug (Intel's debug-signed
   * architectural enclaves) or for release. Says nothing about whether the enclave may run as DEBUG.
   */
  releaseType: 'debug' | 'release';
  /**
   * The enclave may be launched as DEBUG: ATTRIBUTES.DEBUG is set, or ATTRIBUTEMASK does not enforce the
   * DEBUG bit (the SDK default mask 0xfffffffffffffffd leaves it free). Whether a running enclave IS debug
   * comes only from its attested report.
   */
  debugAllowed: boolean;
}

function le64(b: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[off + i]);
  return v;
}

function bcdDate(v: number): string {
  const h = v.toString(16).padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4, 6)}-${h.slice(6, 8)}`;
}

/** Parse a SIGSTRUCT at `offset`. Checks the fixed header bytes; does not check the signature. */
export function parseSigstruct(bytes: Uint8Array, offset = 0): Sigstruct {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new SigstructError('ERR_SIGSTRUCT_OFFSET', `SIGSTRUCT offset ${offset} is not a non-negative integer`);
  const r = new ByteReader(bytes, 'ERR_SIGSTRUCT_TRUNCATED', 'SIGSTRUCT', offset);
  r.need(SIGSTRUCT_SIZE, 'SIGSTRUCT');
  const raw = bytes.subarray(offset, offset + SIGSTRUCT_SIZE);
  for (let i = 0; i < SIGSTRUCT_HEADER.length; i++) {
    if (raw[i] !== SIGSTRUCT_HEADER[i]) {
      throw new SigstructError('ERR_SIGSTRUCT_HEADER', `not a SIGSTRUCT: HEADER byte ${i} at offset ${offset + i} is 0x${raw[i].toString(16)}, expected 0x${SIGSTRUCT_HEADER[i].toString(16)}`);
    }
  }
  for (let i = 0; i < SIGSTRUCT_HEADER2.length; i++) {
    if (raw[24 + i] !== SIGSTRUCT_HEADER2[i]) {
      throw new SigstructError('ERR_SIGSTRUCT_HEADER', `not a SIGSTRUCT: HEADER2 byte ${i} at offset ${offset + 24 + i} is 0x${raw[24 + i].toString(16)}, expected 0x${SIGSTRUCT_HEADER2[i].toString(16)}`);
    }
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const at = (o: number, n: number) => raw.subarray(o, o + n);
  const attributesRaw = at(928, 16);
  const attributes = decodeAttributes(attributesRaw);
  const maskFlags = le64(raw, 944);
  const modulus = at(128, 384);
  const dateRaw = dv.getUint32(20, true);
  return {
    raw,
    headerType: dv.getUint32(12, true),
    vendor: dv.getUint32(16, true),
    date: bcdDate(dateRaw),
    dateRaw,
    swDefined: dv.getUint32(40, true),
    modulus,
    exponent: dv.getUint32(512, true),
    signature: at(516, 384),
    miscSelect: dv.getUint32(900, true),
    miscMask: dv.getUint32(904, true),
    isvFamilyId: at(912, 16),
    attributes,
    attributesRaw,
    attributeMask: { flags: maskFlags, xfrm: le64(raw, 952) },
    mrEnclave: at(960, 32),
    isvExtProdId: at(1008, 16),
    isvProdId: dv.getUint16(1024, true),
    isvSvn: dv.getUint16(1026, true),
    q1: at(1040, 384),
    q2: at(1424, 384),
    mrSigner: new Uint8Array(createHash('sha256').update(modulus).digest()),
    releaseType: (dv.getUint32(12, true) & 0x8000_0000) !== 0 ? 'debug' : 'release',
    debugAllowed: attributes.debug || (maskFlags & 2n) === 0n,
  };
}

/** Little-endian bytes as an integer (through hex: a byte-by-byte BigInt loop is three times slower). */
function leToBigInt(b: Uint8Array): bigint {
  return BigInt(`0x${reversed(b).toString('hex') || '0'}`);
}

function reversed(b: Uint8Array): Buffer {
  return Buffer.from(b).reverse();
}

/**
 * RSA-3072 with e = 3, RSASSA-PKCS1-v1_5 / SHA-256 over bytes [0,128) ‖ [900,1028); modulus and signature are
 * little-endian. Q1 = ⌊S²/M⌋, Q2 = ⌊(S³ − Q1·S·M)/M⌋ are what EINIT uses; they are checked too.
 */
export function verifySigstruct(s: Sigstruct): { signatureValid: boolean; q1q2Valid: boolean; reason?: string } {
  if (s.exponent !== 3) return { signatureValid: false, q1q2Valid: false, reason: `exponent is ${s.exponent}, SGX requires 3` };
  const n = leToBigInt(s.modulus);
  if (n >> 3071n !== 1n) return { signatureValid: false, q1q2Valid: false, reason: 'modulus is not 3072 bits' };
  const sig = leToBigInt(s.signature);
  let q1q2Valid = false;
  if (sig < n) {
    const q1 = (sig * sig) / n;
    const q2 = (sig * sig * sig - q1 * sig * n) / n;
    q1q2Valid = q1 === leToBigInt(s.q1) && q2 === leToBigInt(s.q2);
  }
  let signatureValid = false;
  try {
    const key = createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: reversed(s.modulus).toString('base64url'), e: 'Aw' } });
    const msg = Buffer.concat([s.raw.subarray(0, 128), s.raw.subarray(900, 1028)]);
    signatureValid = cryptoVerify('sha256', msg, { key, padding: constants.RSA_PKCS1_PADDING }, reversed(s.signature));
  } catch {
    signatureValid = false;
  }
  const reason = !signatureValid ? 'the RSA signature does not verify with the modulus' : !q1q2Valid ? 'Q1/Q2 do not match the signature and modulus' : undefined;
  return reason ? { signatureValid, q1q2Valid, reason } : { signatureValid, q1q2Valid };
}

/** JSON view (`confkube sigstruct inspect --json`). */
export function sigstructToJson(s: Sigstruct) {
  const hex64 = (v: bigint) => `0x${v.toString(16)}`;
  return {
    mrSigner: toHex(s.mrSigner),
    mrEnclave: toHex(s.mrEnclave),
    isvProdId: s.isvProdId,
    isvSvn: s.isvSvn,
    vendor: `0x${s.vendor.toString(16)}`,
    date: s.date,
    releaseType: s.releaseType,
    debugAllowed: s.debugAllowed,
    attributes: { flags: hex64(s.attributes.flags), xfrm: hex64(s.attributes.xfrm), debug: s.attributes.debug, names: s.attributes.names },
    attributeMask: { flags: hex64(s.attributeMask.flags), xfrm: hex64(s.attributeMask.xfrm) },
    miscSelect: `0x${s.miscSelect.toString(16)}`,
    miscMask: `0x${s.miscMask.toString(16)}`,
    isvFamilyId: toHex(s.isvFamilyId),
    isvExtProdId: toHex(s.isvExtProdId),
    headerType: `0x${s.headerType.toString(16)}`,
    swDefined: s.swDefined,
  };
}
