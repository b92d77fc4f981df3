import { TCB_STATUSES, type TcbStatus } from '../dcap/tcb-info.js';

/** Every status a scenario can produce: all of Intel's. */
export const SIM_TCB_STATUSES: readonly TcbStatus[] = TCB_STATUSES;

export interface SimTcbLevel {
  /** The 16 SGX TCB component SVNs. */
  components: number[];
  pceSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

/** Components after the first: constant across levels (the first one, "microcode", tells the levels apart). */
const REST = [17, 2, 4, 1, 128, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0];
export const SIM_PCE_SVN = 13;

/**
 * The simulated FMSPC's TCB levels, already in Intel's order (descending components, then PCESVN; QVL
 * TcbLevel::operator>). Each status has exactly one level, told apart by component 1, so a PCK whose
 * components equal a level's matches that level first (docs/dcap.md §TCB level matching). Advisory IDs are the
 * ones Intel publishes for the same kind of level.
 */
export const SIM_TCB_LEVELS: readonly SimTcbLevel[] = [
  { c0: 17, tcbStatus: 'UpToDate', tcbDate: '2024-11-13T00:00:00Z', advisoryIds: [] },
  { c0: 16, tcbStatus: 'SWHardeningNeeded', tcbDate: '2024-11-13T00:00:00Z', advisoryIds: ['INTEL-SA-00615'] },
  { c0: 15, tcbStatus: 'ConfigurationNeeded', tcbDate: '2024-11-13T00:00:00Z', advisoryIds: ['INTEL-SA-00289'] },
  { c0: 14, tcbStatus: 'ConfigurationAndSWHardeningNeeded', tcbDate: '2024-11-13T00:00:00Z', advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'] },
  { c0: 13, tcbStatus: 'OutOfDate', tcbDate: '2023-02-15T00:00:00Z', advisoryIds: ['INTEL-SA-00828', 'INTEL-SA-00615'] },
  { c0: 12, tcbStatus: 'OutOfDateConfigurationNeeded', tcbDate: '2023-02-15T00:00:00Z', advisoryIds: ['INTEL-SA-00828', 'INTEL-SA-00289', 'INTEL-SA-00615'] },
  { c0: 11, tcbStatus: 'Revoked', tcbDate: '2019-11-13T00:00:00Z', advisoryIds: ['INTEL-SA-00233', 'INTEL-SA-00828', 'INTEL-SA-00289', 'INTEL-SA-00615'] },
].map(({ c0, ...l }) => ({ ...l, components: [c0, ...REST], pceSvn: SIM_PCE_SVN }) as SimTcbLevel);

export interface SimQeLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: 'UpToDate' | 'OutOfDate' | 'Revoked';
  advisoryIds: string[];
}

/** QE Identity levels, descending ISVSVN, shaped like Intel's QE Identity (docs/dcap.md §QE identity). */
export const SIM_QE_LEVELS: readonly SimQeLevel[] = [
  { isvSvn: 8, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] },
  { isvSvn: 6, tcbDate: '2021-11-10T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00615'] },
  { isvSvn: 5, tcbDate: '2020-11-11T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00477', 'INTEL-SA-00615'] },
];
export const SIM_QE_SVN_UP_TO_DATE = 8;
export const SIM_QE_SVN_OUT_OF_DATE = 6;

/**
 * The PCK TCB for a scenario. Revoked is revocation of the PCK certificate (its serial on the PCK CRL) on an
 * otherwise up-to-date platform, so the status comes from the CRL alone.
 */
export function levelFor(status: TcbStatus): SimTcbLevel {
  const want = status === 'Revoked' ? 'UpToDate' : status;
  return SIM_TCB_LEVELS.find((l) => l.tcbStatus === want)!;
}

/** Intel QVL convergeTcbStatusWithQeTcbStatus (docs/dcap.md §TCB status decision). */
export function converge(platform: TcbStatus, qe: 'UpToDate' | 'OutOfDate' | 'Revoked'): TcbStatus {
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') return 'OutOfDateConfigurationNeeded';
  }
  return platform;
}
