import { toHex } from '../lib/bytes.js';
import { signRaw, type SimKey } from './keys.js';
import type { SimTcbLevel } from './scenarios.js';

/** Intel's date format in PCS JSON: ISO 8601, whole seconds, Zulu. */
export function pcsDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `{"<key>":<inner>,"signature":"<hex r‖s>"}`, signed over the exact inner bytes (docs/dcap.md §Signed JSON). */
export function signedBody(key: string, inner: object, signer: SimKey): Uint8Array {
  const text = JSON.stringify(inner);
  const sig = signRaw(signer, new TextEncoder().encode(text));
  return new TextEncoder().encode(`{"${key}":${text},"signature":"${toHex(sig)}"}`);
}

export interface TcbInfoSpec {
  version: 2 | 3;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: Uint8Array;
  pceId: Uint8Array;
  tcbEvaluationDataNumber: number;
  levels: readonly SimTcbLevel[];
}

/**
 * TCB Info as Intel PCS serves it, keys in PCS order. v3 (PCS v4 API): `id`, `sgxtcbcomponents`,
 * `advisoryIDs`. v2 (PCS v3 API): no `id`, `sgxtcbcompNNsvn` fields, no advisory IDs.
 */
export function tcbInfoBody(s: TcbInfoSpec, signer: SimKey): Uint8Array {
  const head = {
    ...(s.version === 3 ? { id: 'SGX' } : {}),
    version: s.version,
    issueDate: pcsDate(s.issueDate),
    nextUpdate: pcsDate(s.nextUpdate),
    fmspc: toHex(s.fmspc).toUpperCase(),
    pceId: toHex(s.pceId).toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: s.tcbEvaluationDataNumber,
  };
  const levels = s.levels.map((l) => {
    if (s.version === 2) {
      const tcb: Record<string, number> = {};
      l.components.forEach((svn, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = svn));
      tcb.pcesvn = l.pceSvn;
      return { tcb, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus };
    }
    return {
      tcb: { sgxtcbcomponents: l.components.map((svn) => ({ svn })), pcesvn: l.pceSvn },
      tcbDate: l.tcbDate,
      tcbStatus: l.tcbStatus,
      ...(l.advisoryIds.length > 0 ? { advisoryIDs: l.advisoryIds } : {}),
    };
  });
  return signedBody('tcbInfo', { ...head, tcbLevels: levels }, signer);
}
