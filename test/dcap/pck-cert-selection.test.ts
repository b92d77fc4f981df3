// Intel's PCK certificate selection where it differs from "the highest certificate that fits": the TCB Info's level
// order decides first (PCKCertSelection's buckets), component-wise order only within a level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectPckCert } from '../../src/dcap/pck-cert-selection.js';
import type { TcbInfo } from '../../src/dcap/tcb-info.js';
import type { PckExtensions } from '../../src/sgx/pck.js';

const comps = (c0: number, c1: number): number[] => [c0, c1, ...new Array<number>(14).fill(0)];
const level = (c0: number, c1: number, pceSvn: number) => ({ components: comps(c0, c1), pceSvn, tcbDate: '2024-01-01T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] });
const info: TcbInfo = {
  version: 3, id: 'SGX', issueDate: 0, nextUpdate: 0, fmspc: '00906ed50000', pceId: '0000', tcbType: 0, tcbEvaluationDataNumber: 17,
  levels: [level(5, 5, 10), level(5, 0, 10), level(2, 0, 7)],
};
const cert = (c0: number, c1: number, pceSvn: number): PckExtensions => ({
  ppid: new Uint8Array(16), tcbComponents: comps(c0, c1), pceSvn, cpuSvn: Uint8Array.from(comps(c0, c1)), pceId: new Uint8Array(2),
  fmspc: Uint8Array.from(Buffer.from('00906ed50000', 'hex')), sgxType: 0, platformInstanceId: null, configuration: null,
});
const raw = (c0: number, c1: number, pceSvn: number) => ({ cpuSvn: Uint8Array.from(comps(c0, c1)), pceSvn });

test('the certificate in the higher TCB level wins over one with a higher first component in a lower level', () => {
  // [9,0] is ≥ level [5,0] only; [5,5] is ≥ level [5,5]: the platform [9,5] gets [5,5].
  const certs = [cert(9, 0, 10), cert(5, 5, 10)];
  assert.equal(selectPckCert(info, raw(9, 5, 10), certs), 1);
  // The platform [9,4] is not ≥ [5,5]: [9,0] it is.
  assert.equal(selectPckCert(info, raw(9, 4, 10), certs), 0);
  // Within one level, the greater TCB first; a lower PCESVN excludes a certificate.
  assert.equal(selectPckCert(info, raw(9, 9, 10), [cert(5, 6, 10), cert(6, 7, 10)]), 1);
  assert.equal(selectPckCert(info, raw(9, 9, 9), [cert(5, 6, 10), cert(3, 0, 7)]), 1);
  // Below every certificate; a certificate below every level still serves a platform that is too.
  assert.equal(selectPckCert(info, raw(1, 0, 7), [cert(2, 0, 7)]), -1);
  assert.equal(selectPckCert(info, raw(1, 9, 9), [cert(1, 0, 3), cert(2, 0, 7)]), 0);
});

test('a set Intel refuses: another PPID, another PCE-ID, a TCB type other than 0', () => {
  const other = { ...cert(5, 5, 10), ppid: new Uint8Array(16).fill(1) };
  assert.throws(() => selectPckCert(info, raw(9, 9, 10), [cert(5, 5, 10), other]), /PPID differs/);
  assert.throws(() => selectPckCert(info, raw(9, 9, 10), [{ ...cert(5, 5, 10), pceId: Uint8Array.of(0, 1) }]), /PCE-ID/);
  assert.throws(() => selectPckCert({ ...info, tcbType: 1 }, raw(9, 9, 10), [cert(5, 5, 10)]), /TCB type 1/);
});
