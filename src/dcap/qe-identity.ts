import { fromHex, toHex } from '../lib/bytes.js';
import type { ReportBody } from '../sgx/report.js';
import { CollateralError } from './errors.js';
import type { SignedJson } from './signed-json.js';

export interface QeTcbLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: string;
  advisoryIds: string[];
}

export interface QeIdentity {
  id: string;
  version: number;
  issueDate: number;
  nextUpdate: number;
  tcbEvaluationDataNumber: number | null;
  miscSelect: Uint8Array; // 4 bytes, report byte order
  miscSelectMask: Uint8Array;
  attributes: Uint8Array; // 16 bytes
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  /** Highest ISVSVN first. */
  levels: QeTcbLevel[];
}

function hex(v: unknown, field: string, bytes: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new CollateralError(`QE Identity: ${field} must be ${bytes * 2} hex digits`);
  }
  return fromHex(v);
}

function date(v: unknown, field: string): number {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new CollateralError(`QE Identity: ${field} is not a date`);
  return t;
}

export function parseQeIdentity(s: SignedJson<Record<string, unknown>>): QeIdentity {
  const q = s.value;
  if (q.version !== 2) throw new CollateralError(`QE Identity: version ${String(q.version)} is not supported (expected 2)`);
  if (q.id !== 'QE') throw new CollateralError(`QE Identity: id "${String(q.id)}" is not "QE" (an SGX quote needs the QE identity)`);
  if (!Array.isArray(q.tcbLevels) || q.tcbLevels.length === 0) throw new CollateralError('QE Identity: tcbLevels missing or empty');
  const levels = q.tcbLevels.map((lv: Record<string, unknown>, i: number) => {
    const isvsvn = (lv?.tcb as Record<string, unknown> | undefined)?.isvsvn;
    if (typeof isvsvn !== 'number' || !Number.isInteger(isvsvn) || isvsvn < 0 || isvsvn > 0xffff) {
      throw new CollateralError(`QE Identity: tcbLevels[${i}].tcb.isvsvn must be an integer 0..65535`);
    }
    if (typeof lv.tcbStatus !== 'string') throw new CollateralError(`QE Identity: tcbLevels[${i}].tcbStatus missing`);
    const adv = lv.advisoryIDs;
    return {
      isvSvn: isvsvn,
      tcbDate: typeof lv.tcbDate === 'string' ? lv.tcbDate : '',
      tcbStatus: lv.tcbStatus,
      advisoryIds: Array.isArray(adv) ? adv.filter((a): a is string => typeof a === 'string') : [],
    };
  });
  levels.sort((a: QeTcbLevel, b: QeTcbLevel) => b.isvSvn - a.isvSvn);
  if (typeof q.isvprodid !== 'number') throw new CollateralError('QE Identity: isvprodid missing');
  return {
    id: q.id,
    version: q.version,
    issueDate: date(q.issueDate, 'issueDate'),
    nextUpdate: date(q.nextUpdate, 'nextUpdate'),
    tcbEvaluationDataNumber: typeof q.tcbEvaluationDataNumber === 'number' ? q.tcbEvaluationDataNumber : null,
    miscSelect: hex(q.miscselect, 'miscselect', 4),
    miscSelectMask: hex(q.miscselectMask, 'miscselectMask', 4),
    attributes: hex(q.attributes, 'attributes', 16),
    attributesMask: hex(q.attributesMask, 'attributesMask', 16),
    mrSigner: hex(q.mrsigner, 'mrsigner', 32),
    isvProdId: q.isvprodid,
    levels,
  };
}

/**
 * Intel QVL 4.1.2.9.5–10 (EnclaveReportVerifier): masked MISCSELECT and ATTRIBUTES, MRSIGNER, ISVPRODID.
 * MISCSELECT hex is compared in report byte order, as Intel and dcap-qvl read it (docs/dcap.md §QE identity).
 * Returns null on success, or what differs.
 */
export function qeIdentityMismatch(id: QeIdentity, r: ReportBody): string | null {
  const misc = r.raw.subarray(16, 20);
  for (let i = 0; i < 4; i++) {
    if ((misc[i] & id.miscSelectMask[i]) !== id.miscSelect[i]) return `MISCSELECT ${toHex(misc)} & mask ${toHex(id.miscSelectMask)} != ${toHex(id.miscSelect)}`;
  }
  for (let i = 0; i < 16; i++) {
    if ((r.attributesRaw[i] & id.attributesMask[i]) !== id.attributes[i]) {
      return `ATTRIBUTES ${toHex(r.attributesRaw)} & mask ${toHex(id.attributesMask)} != ${toHex(id.attributes)}`;
    }
  }
  for (let i = 0; i < 32; i++) {
    if (r.mrSigner[i] !== id.mrSigner[i]) return `MRSIGNER ${toHex(r.mrSigner)} != ${toHex(id.mrSigner)}`;
  }
  if (r.isvProdId !== id.isvProdId) return `ISVPRODID ${r.isvProdId} != ${id.isvProdId}`;
  return null;
}

/** The first level, highest ISVSVN first, with level.isvsvn ≤ the QE's ISVSVN. */
export function matchQeLevel(id: QeIdentity, isvSvn: number): QeTcbLevel | null {
  for (const l of id.levels) if (l.isvSvn <= isvSvn) return l;
  return null;
}
