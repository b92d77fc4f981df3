import { fromHex, toHex } from '../lib/bytes.js';
import type { PckExtensions } from '../sgx/pck.js';
import { AttestationError } from '../attestation/errors.js';

/**
 * A platform as Intel's PCCS registers it (POST /platforms, the PCKIDRetrievalTool CSV), every field Base16 as
 * the quote provider library sends it (docs/pccs.md §Platforms): `pce_id` and `pce_svn` are little-endian 16-bit
 * integers, `cpu_svn` and `qe_id` 16 bytes, `enc_ppid` the PPID encrypted to Intel's key (384 bytes, RSA-3072),
 * `platform_manifest` the multi-package registration data (may be empty).
 */
export interface PlatformId {
  qe_id: string;
  pce_id: string;
  cpu_svn: string;
  pce_svn: string;
  enc_ppid: string;
  platform_manifest: string;
}

/** One PCK certificate of a platform, as PCS v4 `pckcerts` lists it (`cert` here URL-decoded PEM, or null: "Not available"). */
export interface PckCertEntry {
  tcb: Record<string, number>;
  tcbm: string;
  cert: string | null;
}

export const invalid = (message: string): AttestationError => new AttestationError(400, 'InvalidParameter', message, 'ERR_PCCS_REQUEST');

/** A Base16 field of exactly `digits` hex digits (or up to `digits` when `max`), upper-cased as Intel's PCCS stores it. */
export function hexParam(v: unknown, name: string, digits: number, o: { optional?: boolean; max?: boolean } = {}): string {
  if ((v === undefined || v === '') && o.optional) return '';
  if (typeof v !== 'string') throw invalid(`${name}: expected ${digits} hex digits`);
  const ok = o.max ? v.length % 2 === 0 && v.length <= digits : v.length === digits;
  if (!ok || !/^[0-9a-fA-F]*$/.test(v)) throw invalid(`${name}: expected ${o.max ? `an even number of hex digits, at most ${digits}` : `${digits} hex digits`}, got ${v.length} characters${/^[0-9a-fA-F]*$/.test(v) ? '' : ' (not hex)'}`);
  return v.toUpperCase();
}

/** PCS v4 bounds a platform manifest at 112884 hex digits (pattern `[0-9a-fA-F]{16862,112884}`). */
export const MANIFEST_MAX_HEX = 112884;

/** The registration body of POST /platforms, checked as Intel's PCCS schema does (PLATFORM_REG_SCHEMA). */
export function parsePlatform(body: unknown, where = 'platform'): PlatformId {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid(`${where}: expected a JSON object`);
  const b = body as Record<string, unknown>;
  return {
    qe_id: hexParam(b.qe_id, `${where}.qe_id`, 32),
    pce_id: hexParam(b.pce_id, `${where}.pce_id`, 4),
    cpu_svn: hexParam(b.cpu_svn, `${where}.cpu_svn`, 32),
    pce_svn: hexParam(b.pce_svn, `${where}.pce_svn`, 4),
    enc_ppid: hexParam(b.enc_ppid, `${where}.enc_ppid`, 768),
    platform_manifest: hexParam(b.platform_manifest, `${where}.platform_manifest`, MANIFEST_MAX_HEX, { optional: true, max: true }),
  };
}

/** PCESVN from its Base16 little-endian form ("0d00" → 13). */
export function pceSvnFromHex(hex: string): number {
  const b = fromHex(hex, 'pcesvn');
  return b[0] | (b[1] << 8);
}

export function pceSvnToHex(n: number): string {
  return toHex(Uint8Array.of(n & 0xff, n >> 8)).toUpperCase();
}

/** TCBm: CPUSVN ‖ PCESVN (little-endian), upper-case Base16, as PCS writes `SGX-TCBm` and `tcbm`. */
export function tcbmOf(ext: PckExtensions): string {
  return (toHex(ext.cpuSvn) + pceSvnToHex(ext.pceSvn)).toUpperCase();
}

/** The `tcb` object of a PCS v4 `pckcerts` entry: `sgxtcbcomp01svn` … `sgxtcbcomp16svn`, `pcesvn`. */
export function tcbObjectOf(ext: PckExtensions): Record<string, number> {
  const tcb: Record<string, number> = {};
  ext.tcbComponents.forEach((svn, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = svn));
  tcb.pcesvn = ext.pceSvn;
  return tcb;
}

/** Store key of a platform's PCK certificates: PCE-ID and QE-ID, as Intel's PCCS keys its platforms table. */
export const pckKey = (pceId: string, qeId: string): string => `pck:${pceId.toLowerCase()}:${qeId.toLowerCase()}`;
/** Store key of a registration waiting to be fetched (REQ after a failure, OFFLINE). */
export const registrationKey = (pceId: string, qeId: string): string => `pckreg:${pceId.toLowerCase()}:${qeId.toLowerCase()}`;
