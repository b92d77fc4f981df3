import { CollateralError } from './errors.js';
import type { SignedJson } from './signed-json.js';

export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

export function isTcbStatus(s: unknown): s is TcbStatus {
  return typeof s === 'string' && (TCB_STATUSES as readonly string[]).includes(s);
}

export interface TcbLevel {
  components: number[]; // 16 SGX TCB component SVNs
  pceSvn: number;
  tcbDate: string;
  tcbStatus: string; // kept verbatim: an unknown status is TCB_UNRECOGNIZED_STATUS only if it is matched
  advisoryIds: string[];
}

export interface TcbInfo {
  version: 2 | 3;
  id: string; // "SGX" (v2 has no id)
  issueDate: number;
  nextUpdate: number;
  fmspc: string; // lower-case hex
  pceId: string; // lower-case hex
  tcbType: number;
  tcbEvaluationDataNumber: number | null;
  /** Sorted as Intel's TcbLevel::operator> (components lexicographically, then PCESVN), highest first. */
  levels: TcbLevel[];
}

function date(v: unknown, field: string): number {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new CollateralError(`TCB Info: ${field} is not a date`);
  return t;
}

function svn(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) throw new CollateralError(`TCB Info: ${field} must be an integer 0..65535`);
  return v;
}

function hexField(v: unknown, field: string, bytes: number): string {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new CollateralError(`TCB Info: ${field} must be ${bytes * 2} hex digits`);
  }
  return v.toLowerCase();
}

/** Normalise TCB Info v2 (PCS v3 API) and v3 (PCS v4 API) into one shape. */
export function parseTcbInfo(s: SignedJson<Record<string, unknown>>): TcbInfo {
  const t = s.value;
  const version = t.version;
  if (version !== 2 && version !== 3) throw new CollateralError(`TCB Info: version ${String(version)} is not supported (expected 2 or 3)`);
  if (version === 3 && t.id !== 'SGX') throw new CollateralError(`TCB Info: id "${String(t.id)}" is not "SGX"`);
  if (!Array.isArray(t.tcbLevels) || t.tcbLevels.length === 0) throw new CollateralError('TCB Info: tcbLevels missing or empty');
  const levels: TcbLevel[] = t.tcbLevels.map((lv: Record<string, unknown>, i: number) => {
    const where = `tcbLevels[${i}]`;
    const tcb = lv?.tcb as Record<string, unknown> | undefined;
    if (typeof tcb !== 'object' || tcb === null) throw new CollateralError(`TCB Info: ${where}.tcb missing`);
    let components: number[];
    if (version === 3) {
      const comps = tcb.sgxtcbcomponents;
      if (!Array.isArray(comps) || comps.length !== 16) throw new CollateralError(`TCB Info: ${where}.tcb.sgxtcbcomponents must have 16 entries`);
      components = comps.map((c: { svn?: unknown }, k: number) => svn(c?.svn, `${where}.tcb.sgxtcbcomponents[${k}].svn`));
    } else {
      components = [];
      for (let k = 1; k <= 16; k++) {
        const key = `sgxtcbcomp${String(k).padStart(2, '0')}svn`;
        components.push(svn(tcb[key], `${where}.tcb.${key}`));
      }
    }
    if (typeof lv.tcbStatus !== 'string') throw new CollateralError(`TCB Info: ${where}.tcbStatus missing`);
    const adv = lv.advisoryIDs;
    if (adv !== undefined && (!Array.isArray(adv) || adv.some((a) => typeof a !== 'string'))) throw new CollateralError(`TCB Info: ${where}.advisoryIDs must be strings`);
    return {
      components,
      pceSvn: svn(tcb.pcesvn, `${where}.tcb.pcesvn`),
      tcbDate: typeof lv.tcbDate === 'string' ? lv.tcbDate : '',
      tcbStatus: lv.tcbStatus,
      advisoryIds: (adv as string[] | undefined) ?? [],
    };
  });
  levels.sort(compareLevelsDesc);
  return {
    version,
    id: version === 3 ? 'SGX' : 'SGX',
    issueDate: date(t.issueDate, 'issueDate'),
    nextUpdate: date(t.nextUpdate, 'nextUpdate'),
    fmspc: hexField(t.fmspc, 'fmspc', 6),
    pceId: hexField(t.pceId, 'pceId', 2),
    tcbType: typeof t.tcbType === 'number' ? t.tcbType : 0,
    tcbEvaluationDataNumber: typeof t.tcbEvaluationDataNumber === 'number' ? t.tcbEvaluationDataNumber : null,
    levels,
  };
}

function compareLevelsDesc(a: TcbLevel, b: TcbLevel): number {
  for (let i = 0; i < 16; i++) if (a.components[i] !== b.components[i]) return b.components[i] - a.components[i];
  return b.pceSvn - a.pceSvn;
}

/**
 * Intel QVL 4.1.2.4.17 (TcbLevelCheck): the first level, highest first, whose every component SVN and whose
 * PCESVN are ≤ the PCK certificate's. Intel matches the 16 components, not the CPUSVN bytes (docs/dcap.md §TCB level matching).
 */
export function matchTcbLevel(info: TcbInfo, components: readonly number[], pceSvn: number): TcbLevel | null {
  outer: for (const level of info.levels) {
    for (let i = 0; i < 16; i++) if (components[i] < level.components[i]) continue outer;
    if (pceSvn >= level.pceSvn) return level;
  }
  return null;
}
