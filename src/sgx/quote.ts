import { ByteReader, toHex } from '../lib/bytes.js';
import { QuoteFormatError } from './errors.js';
import { parseReportBody, parseTdReportBody, REPORT_BODY_SIZE, TD_REPORT10_SIZE, type ReportBody, type TdReportBody } from './report.js';

/** Intel's QE vendor ID (QuoteConstants.h INTEL_QE_VENDOR_ID). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const QUOTE_HEADER_SIZE = 48;

export const CERT_DATA_TYPES: Record<number, string> = {
  1: 'PPID (cleartext)',
  2: 'PPID (RSA-2048-OAEP encrypted)',
  3: 'PPID (RSA-3072-OAEP encrypted)',
  4: 'PCK certificate',
  5: 'PCK certificate chain',
  6: 'QE report certification data',
  7: 'platform manifest',
};

export interface QuoteHeader {
  raw: Uint8Array;
  version: number; //            0, 2
  attestationKeyType: number; // 2, 2
  teeType: number; //            4, 4
  qeSvn: number; //              8, 2
  pceSvn: number; //            10, 2
  qeVendorId: Uint8Array; //    12, 16
  userData: Uint8Array; //      28, 20
}

export interface CertificationData {
  type: number;
  /** The raw certification data (size bytes). */
  data: Uint8Array;
  /** Offset of `data` within the quote. */
  offset: number;
  /** Type 5: the PEM chain split into DER certificates, leaf first. */
  pckChain?: Uint8Array[];
  /** Type 5: the PEM text of each certificate, leaf first. */
  pckChainPem?: string[];
  /** Type 6 (v4+): the nested QE report certification data. */
  qeReportCertificationData?: QeReportCertificationData;
}

export interface QeReportCertificationData {
  qeReport: ReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  certificationData: CertificationData;
}

export interface Quote {
  raw: Uint8Array;
  header: QuoteHeader;
  /** v5 only: body descriptor type (1 SGX, 2 TD 1.0, 3 TD 1.5). */
  bodyType: number | null;
  /** SGX enclave report (null for TDX quotes). */
  report: ReportBody | null;
  /** TDX TD report (null for SGX quotes). */
  tdReport: TdReportBody | null;
  /** Bytes covered by the quote signature: header (+ v5 descriptor) + body. */
  signedData: Uint8Array;
  signatureDataLength: number;
  /** ECDSA P-256 r‖s over signedData, by the attestation key. */
  quoteSignature: Uint8Array;
  /** Raw X‖Y of the attestation public key. */
  attestationKey: Uint8Array;
  qeReport: ReportBody;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK-level certification data (for v4/v5: the one nested in type 6). */
  certificationData: CertificationData;
  /** v4/v5: the outer certification data (type 6). */
  outerCertificationData: CertificationData | null;
  /** Bytes after the signature data (ignored by Intel QVL; reported). */
  trailingBytes: number;
}

const CODE_TRUNCATED = 'ERR_QUOTE_TRUNCATED';

function unsupported(message: string, details?: Record<string, unknown>): QuoteFormatError {
  return new QuoteFormatError('ERR_QUOTE_UNSUPPORTED', message, details);
}

/**
 * Parse an SGX (v3, v4, v5) or TDX (v4, v5) ECDSA quote. Structural only: no signature is checked here.
 * Layout: docs/sgx.md §Quote header, docs/sgx.md §Signature data, docs/sgx.md §Quote v4 and v5 (Intel `Quote.cpp`, `QuoteConstants.h`). Fields are views into `bytes`.
 */
export function parseQuote(bytes: Uint8Array): Quote {
  const r = new ByteReader(bytes, CODE_TRUNCATED, 'quote');
  const header = parseHeader(r);
  if (header.version < 3 || header.version > 5) {
    throw unsupported(`quote version ${header.version} at offset 0 is not supported (expected 3, 4 or 5)`, { version: header.version });
  }
  if (header.attestationKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    throw unsupported(`attestation key type ${header.attestationKeyType} at offset 2 is not supported (expected 2, ECDSA-256-with-P-256)`, { attestationKeyType: header.attestationKeyType });
  }
  if (header.teeType !== TEE_TYPE_SGX && header.teeType !== TEE_TYPE_TDX) {
    throw unsupported(`TEE type 0x${header.teeType.toString(16)} at offset 4 is not SGX (0x0) or TDX (0x81)`, { teeType: header.teeType });
  }
  if (header.version === 3 && header.teeType !== TEE_TYPE_SGX) {
    throw unsupported(`a version 3 quote must be SGX, TEE type is 0x${header.teeType.toString(16)}`);
  }

  let bodyType: number | null = null;
  let report: ReportBody | null = null;
  let tdReport: TdReportBody | null = null;
  if (header.version === 5) {
    bodyType = r.u16('body descriptor type');
    const bodySize = r.u32('body descriptor size');
    if (bodyType === 1) {
      if (header.teeType !== TEE_TYPE_SGX) throw unsupported(`v5 body type 1 (SGX) with TEE type 0x${header.teeType.toString(16)}`);
      if (bodySize !== REPORT_BODY_SIZE) throw unsupported(`v5 SGX body size ${bodySize} at offset 50, expected ${REPORT_BODY_SIZE}`);
      report = parseReportBody(r, 'ISV enclave report body');
    } else if (bodyType === 2 || bodyType === 3) {
      if (header.teeType !== TEE_TYPE_TDX) throw unsupported(`v5 body type ${bodyType} (TDX) with TEE type 0x${header.teeType.toString(16)}`);
      const expected = bodyType === 2 ? TD_REPORT10_SIZE : 648;
      if (bodySize !== expected) throw unsupported(`v5 TD body size ${bodySize} at offset 50, expected ${expected}`);
      tdReport = parseTdReportBody(r, bodySize, 'TD report body');
    } else {
      throw unsupported(`v5 body descriptor type ${bodyType} at offset 48 is unknown (expected 1, 2 or 3)`);
    }
  } else if (header.teeType === TEE_TYPE_TDX) {
    tdReport = parseTdReportBody(r, TD_REPORT10_SIZE, 'TD report body');
  } else {
    report = parseReportBody(r, 'ISV enclave report body');
  }
  const signedData = bytes.subarray(0, r.pos);

  const lenOffset = r.pos;
  const signatureDataLength = r.u32('signature data length');
  if (signatureDataLength > r.remaining) {
    throw new QuoteFormatError(CODE_TRUNCATED,
      `quote truncated at offset ${r.pos}: signature data length at offset ${lenOffset} says ${signatureDataLength} bytes, have ${r.remaining}`,
      { offset: r.pos, need: signatureDataLength, have: r.remaining });
  }
  // The signature data is parsed inside its declared length; anything after it is trailing.
  const s = new ByteReader(bytes, CODE_TRUNCATED, 'quote signature data', r.pos, r.pos + signatureDataLength);
  const quoteSignature = s.bytes(64, 'ECDSA quote signature');
  const attestationKey = s.bytes(64, 'attestation public key');

  let qeReport: ReportBody;
  let qeReportSignature: Uint8Array;
  let qeAuthData: Uint8Array;
  let certificationData: CertificationData;
  let outerCertificationData: CertificationData | null = null;
  if (header.version === 3) {
    qeReport = parseReportBody(s, 'QE report');
    qeReportSignature = s.bytes(64, 'QE report signature');
    const n = s.u16('QE auth data size');
    qeAuthData = s.bytes(n, 'QE auth data');
    certificationData = parseCertificationData(s, bytes);
    if (certificationData.type < 1 || certificationData.type > 5) {
      throw unsupported(`certification data type ${certificationData.type} at offset ${certificationData.offset - 6} is not allowed in a v3 quote (expected 1..5)`);
    }
  } else {
    outerCertificationData = parseCertificationData(s, bytes);
    const nestedEnd = outerCertificationData.offset + outerCertificationData.data.length;
    const nestedData = outerCertificationData.qeReportCertificationData?.certificationData;
    if (nestedData && nestedData.offset + nestedData.data.length !== nestedEnd) {
      throw unsupported(`QE report certification data has ${nestedEnd - nestedData.offset - nestedData.data.length} unaccounted bytes at offset ${nestedData.offset + nestedData.data.length}`);
    }
    if (outerCertificationData.type !== 6) {
      throw unsupported(`certification data type ${outerCertificationData.type} at offset ${outerCertificationData.offset - 6} in a v${header.version} quote, expected 6 (QE report certification data)`);
    }
    const nested = outerCertificationData.qeReportCertificationData!;
    qeReport = nested.qeReport;
    qeReportSignature = nested.qeReportSignature;
    qeAuthData = nested.qeAuthData;
    certificationData = nested.certificationData;
  }
  // The signature data must be exactly its parts: slack inside it is not covered by any signature.
  if (s.remaining !== 0) {
    throw unsupported(`signature data has ${s.remaining} unaccounted bytes at offset ${s.pos} after the certification data`);
  }
  return {
    raw: bytes,
    header,
    bodyType,
    report,
    tdReport,
    signedData,
    signatureDataLength,
    quoteSignature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    certificationData,
    outerCertificationData,
    trailingBytes: bytes.length - s.end,
  };
}

function parseHeader(r: ByteReader): QuoteHeader {
  r.need(QUOTE_HEADER_SIZE, 'header');
  const raw = r.buf.subarray(0, QUOTE_HEADER_SIZE);
  const version = r.u16('version');
  const attestationKeyType = r.u16('attestation key type');
  const teeType = r.u32('TEE type');
  const qeSvn = r.u16('QE SVN');
  const pceSvn = r.u16('PCE SVN');
  const qeVendorId = r.bytes(16, 'QE vendor ID');
  const userData = r.bytes(20, 'user data');
  return { raw, version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

function parseCertificationData(s: ByteReader, quote: Uint8Array): CertificationData {
  const typeOffset = s.pos;
  const type = s.u16('certification data type');
  if (type < 1 || type > 7) {
    throw unsupported(`certification data type ${type} at offset ${typeOffset} is unknown (expected 1..7)`);
  }
  const size = s.u32('certification data size');
  const offset = s.pos;
  const data = s.bytes(size, `certification data (type ${type}, ${size} bytes)`);
  const cd: CertificationData = { type, data, offset };
  if (type === 5) {
    const pem = splitPemChain(data, offset);
    cd.pckChainPem = pem.pem;
    cd.pckChain = pem.der;
  } else if (type === 6) {
    const n = new ByteReader(quote, CODE_TRUNCATED, 'QE report certification data', offset, offset + size);
    const qeReport = parseReportBody(n, 'QE report');
    const qeReportSignature = n.bytes(64, 'QE report signature');
    const authSize = n.u16('QE auth data size');
    const qeAuthData = n.bytes(authSize, 'QE auth data');
    const inner = parseCertificationData(n, quote);
    if (inner.type < 1 || inner.type > 5) {
      throw unsupported(`nested certification data type ${inner.type} at offset ${inner.offset - 6} is not allowed (expected 1..5)`);
    }
    cd.qeReportCertificationData = { qeReport, qeReportSignature, qeAuthData, certificationData: inner };
  }
  return cd;
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

/**
 * Split certification data type 5 (a PEM chain, leaf first) into certificates. Real quotes sometimes end
 * the blob with a NUL byte (cases.json `cert_data_ends_with_nul`); whitespace and NULs between blocks are
 * tolerated, anything else is an error.
 */
export function splitPemChain(data: Uint8Array, offset = 0): { pem: string[]; der: Uint8Array[] } {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const pem: string[] = [];
  const der: Uint8Array[] = [];
  let i = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, i);
    const gap = text.slice(i, begin === -1 ? text.length : begin);
    if (/[^\r\n\0]/.test(gap)) {
      throw new QuoteFormatError('ERR_QUOTE_CERT_CHAIN', `PCK certificate chain: unexpected byte at offset ${offset + i + gap.search(/[^\r\n\0]/)}`);
    }
    if (begin === -1) break;
    const end = text.indexOf(PEM_END, begin);
    if (end === -1) {
      throw new QuoteFormatError('ERR_QUOTE_CERT_CHAIN', `PCK certificate chain: certificate ${pem.length + 1} at offset ${offset + begin} has no END line`);
    }
    const body = text.slice(begin + PEM_BEGIN.length, end);
    const b64 = body.replace(/\r?\n/g, '');
    // Only canonical base64 split by line breaks: Buffer's decoder would skip stray bytes and ignore
    // unused low bits, so a changed byte could otherwise leave the certificate unchanged.
    const d = Buffer.from(b64, 'base64');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || d.toString('base64') !== b64) {
      throw new QuoteFormatError('ERR_QUOTE_CERT_CHAIN', `PCK certificate chain: certificate ${pem.length + 1} at offset ${offset + begin} is not canonical base64`);
    }
    if (d.length === 0) {
      throw new QuoteFormatError('ERR_QUOTE_CERT_CHAIN', `PCK certificate chain: certificate ${pem.length + 1} at offset ${offset + begin} is empty`);
    }
    pem.push(text.slice(begin, end + PEM_END.length) + '\n');
    der.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    i = end + PEM_END.length;
  }
  if (pem.length === 0) throw new QuoteFormatError('ERR_QUOTE_CERT_CHAIN', `PCK certificate chain at offset ${offset}: no certificate found`);
  return { pem, der };
}

export function teeTypeName(t: number): string {
  return t === TEE_TYPE_SGX ? 'SGX' : t === TEE_TYPE_TDX ? 'TDX' : `0x${t.toString(16)}`;
}

export function qeVendorIdHex(h: QuoteHeader): string {
  return toHex(h.qeVendorId);
}
