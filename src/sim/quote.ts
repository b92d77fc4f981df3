import { createHash } from 'node:crypto';
import { concat } from './der.js';
import { signRaw, type SimKey } from './keys.js';
import { REPORT_BODY_SIZE } from './report.js';

/** Intel's QE vendor ID (QuoteConstants.h): verifiers require it, and the simulated QE speaks Intel's format. */
export const INTEL_QE_VENDOR_ID = Uint8Array.from(Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex'));

/** The QE's half of a quote: its report (binding the attestation key) signed by the PCK key. Same for every quote of a platform. */
export interface QeSignedReport {
  qeReport: Uint8Array;
  qeReportSignature: Uint8Array;
}

/** QE report data = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes, then signed by the PCK key (docs/sim.md §Quotes). */
export function signQeReport(qeReportBody: Uint8Array, attestationKey: SimKey, qeAuthData: Uint8Array, pckKey: SimKey): QeSignedReport {
  const qeReport = Uint8Array.from(qeReportBody);
  qeReport.set(createHash('sha256').update(attestationKey.publicXY).update(qeAuthData).digest(), 320);
  qeReport.fill(0, 352, 384);
  return { qeReport, qeReportSignature: signRaw(pckKey, qeReport) };
}

export interface QuoteParts {
  version: 3 | 4;
  qeSvn: number;
  pceSvn: number;
  /** Header user data (20 bytes): Intel's QE puts the first 16 bytes of its QE ID here. */
  userData: Uint8Array;
  /** The ISV enclave's 384-byte report body. */
  report: Uint8Array;
  attestationKey: SimKey;
  qe: QeSignedReport;
  qeAuthData: Uint8Array;
  /** Type 5 certification data: PEM chain PCK leaf, CA, root. */
  pckChainPem: Uint8Array;
}

function u16(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/**
 * An SGX ECDSA quote (docs/sgx.md §Quote v4 and v5): v3, or v4 with the QE report certification data (type 6) wrapping
 * the PCK chain. The attestation key signs header ‖ body; the QE report (from `signQeReport`) vouches for it.
 */
export function buildQuote(p: QuoteParts): Uint8Array {
  if (p.report.length !== REPORT_BODY_SIZE || p.qe.qeReport.length !== REPORT_BODY_SIZE) throw new RangeError('report bodies are 384 bytes');
  const header = concat([u16(p.version), u16(2), u32(0), u16(p.qeSvn), u16(p.pceSvn), INTEL_QE_VENDOR_ID, p.userData]);
  const signed = concat([header, p.report]);
  const quoteSig = signRaw(p.attestationKey, signed);
  const pckCertData = concat([u16(5), u32(p.pckChainPem.length), p.pckChainPem]);
  const qeBlock = concat([p.qe.qeReport, p.qe.qeReportSignature, u16(p.qeAuthData.length), p.qeAuthData]);
  const rest =
    p.version === 3 ? concat([qeBlock, pckCertData]) : (() => {
      const inner = concat([qeBlock, pckCertData]);
      return concat([u16(6), u32(inner.length), inner]);
    })();
  const sigData = concat([quoteSig, p.attestationKey.publicXY, rest]);
  return concat([signed, u32(sigData.length), sigData]);
}
