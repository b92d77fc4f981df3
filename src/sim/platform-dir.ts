import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TcbStatus } from '../dcap/tcb-info.js';
import { SimPlatformError } from './errors.js';
import { createPlatform, type SimPlatform } from './platform.js';

/** The file in a platform directory that records the seed, the options and the derived private keys. */
export const PLATFORM_FILE = 'platform.json';
const FORMAT = 'confkube-sim-platform/1';

interface PlatformFile {
  format: string;
  notice: string;
  seed: string;
  options: {
    status: TcbStatus;
    qeOutOfDate: boolean;
    collateral: 'valid' | 'expired' | 'not-yet-valid';
    issuedAt: string;
    collateralIssuedAt?: string;
    tcbInfoVersion: 2 | 3;
    caType: 'processor' | 'platform';
  };
  keys: Record<string, string>;
}

/**
 * Write `dir/root.pem`, `dir/pck_chain.pem`, `dir/platform.json` and `dir/collateral/` (the files
 * `confkube quote verify --collateral` reads). The private keys are written too: they are what the
 * platform is, and they are simulation keys that nothing outside a simulation may trust.
 */
export function writePlatform(p: SimPlatform, dir: string): void {
  mkdirSync(join(dir, 'collateral'), { recursive: true });
  const o = p.options;
  const file: PlatformFile = {
    format: FORMAT,
    notice: 'Simulated SGX platform: keys and certificates are NOT Intel and must never be trusted outside simulation.',
    seed: o.seed,
    options: {
      status: o.status,
      qeOutOfDate: o.qeOutOfDate,
      collateral: o.collateral,
      issuedAt: o.issuedAt.toISOString(),
      collateralIssuedAt: o.collateralIssuedAt.toISOString(),
      tcbInfoVersion: o.tcbInfoVersion,
      caType: o.caType,
    },
    keys: p.keys,
  };
  writeFileSync(join(dir, PLATFORM_FILE), `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'root.pem'), p.rootCertPem);
  writeFileSync(join(dir, 'pck_chain.pem'), p.pckChainPem);
  for (const f of p.collateralFiles()) writeFileSync(join(dir, 'collateral', f.name), f.data);
}

/** Rebuild the platform a directory records; its keys must be the ones the seed derives. */
export function loadPlatform(dir: string): SimPlatform {
  const path = join(dir, PLATFORM_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SimPlatformError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (create one with "confkube sim init ${dir}")`);
  }
  let f: PlatformFile;
  try {
    f = JSON.parse(text) as PlatformFile;
  } catch (e) {
    throw new SimPlatformError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!f || f.format !== FORMAT) throw new SimPlatformError(`${path}: not a simulated platform file (format ${JSON.stringify(f?.format)}, expected ${FORMAT})`);
  if (typeof f.seed !== 'string' || !f.options || typeof f.options !== 'object') throw new SimPlatformError(`${path}: "seed" and "options" are required`);
  const issuedAt = new Date(f.options.issuedAt);
  if (Number.isNaN(issuedAt.getTime())) throw new SimPlatformError(`${path}: options.issuedAt is not a date`);
  const collateralIssuedAt = f.options.collateralIssuedAt === undefined ? issuedAt : new Date(f.options.collateralIssuedAt);
  if (Number.isNaN(collateralIssuedAt.getTime())) throw new SimPlatformError(`${path}: options.collateralIssuedAt is not a date`);
  let p: SimPlatform;
  try {
    p = createPlatform({ ...f.options, seed: f.seed, issuedAt, collateralIssuedAt });
  } catch (e) {
    throw new SimPlatformError(`${path}: ${(e as Error).message}`);
  }
  for (const [role, hex] of Object.entries(p.keys)) {
    if (f.keys?.[role] !== hex) throw new SimPlatformError(`${path}: the ${role} key is not the one the seed derives (the file was edited or written by another version)`);
  }
  return p;
}
