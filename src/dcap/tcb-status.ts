import type { TcbStatus } from './tcb-info.js';

/**
 * Intel QVL `convergeTcbStatusWithQeTcbStatus` (docs/dcap.md §TCB status decision): a QE that is OutOfDate turns an
 * UpToDate or SWHardeningNeeded platform into OutOfDate, and the Configuration* ones into
 * OutOfDateConfigurationNeeded; a Revoked QE revokes the platform. This is not "worst severity"
 * (where @phala/dcap-qvl departs from Intel).
 */
export function convergeTcbStatus(platform: TcbStatus, qe: 'UpToDate' | 'OutOfDate' | 'Revoked'): TcbStatus {
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'OutOfDate') {
    switch (platform) {
      case 'UpToDate':
      case 'SWHardeningNeeded':
        return 'OutOfDate';
      case 'ConfigurationNeeded':
      case 'ConfigurationAndSWHardeningNeeded':
        return 'OutOfDateConfigurationNeeded';
      default:
        return platform;
    }
  }
  return platform;
}
