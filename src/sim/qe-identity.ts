import { toHex } from '../lib/bytes.js';
import type { SimKey } from './keys.js';
import type { SimQeLevel } from './scenarios.js';
import { pcsDate, signedBody } from './tcb-info.js';

export interface QeIdentitySpec {
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  mrSigner: Uint8Array;
  isvProdId: number;
  levels: readonly SimQeLevel[];
}

/**
 * QE Identity v2 (`id` "QE") in PCS key order. MISCSELECT, ATTRIBUTES and their masks are Intel's QE3
 * values (docs/dcap.md §QE identity): INIT and PROVISIONKEY required, DEBUG must be clear, XFRM ignored.
 */
export function qeIdentityBody(s: QeIdentitySpec, signer: SimKey): Uint8Array {
  return signedBody(
    'enclaveIdentity',
    {
      id: 'QE',
      version: 2,
      issueDate: pcsDate(s.issueDate),
      nextUpdate: pcsDate(s.nextUpdate),
      tcbEvaluationDataNumber: s.tcbEvaluationDataNumber,
      miscselect: '00000000',
      miscselectMask: 'FFFFFFFF',
      attributes: '11000000000000000000000000000000',
      attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
      mrsigner: toHex(s.mrSigner).toUpperCase(),
      isvprodid: s.isvProdId,
      tcbLevels: s.levels.map((l) => ({
        tcb: { isvsvn: l.isvSvn },
        tcbDate: l.tcbDate,
        tcbStatus: l.tcbStatus,
        ...(l.advisoryIds.length > 0 ? { advisoryIDs: l.advisoryIds } : {}),
      })),
    },
    signer,
  );
}
