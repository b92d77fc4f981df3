import { ConfkubeError } from '../lib/errors.js';
import type { CollateralRecord } from '../attestation/deps.js';
import { isConfkubeError } from '../lib/errors.js';
import { parsePlatform, type PlatformId } from './platform.js';
import type { PckService, StoredPlatform } from './pck-service.js';

/**
 * A PCCS cache file (docs/pccs.md §Air-gapped clusters): what `confkube pccs export` writes and `pccs import`
 * takes back. `platforms` are registrations still to be fetched from Intel PCS (the shape of Intel pccsadmin's
 * platform list); `pck_certs` each platform's PCS v4 `pckcerts` answer with its headers; `collateral` the TCB
 * Info, QE Identity and CRLs as the service stores them (raw bytes, base64).
 */
export interface PccsCacheFile {
  format: typeof CACHE_FORMAT;
  platforms: PlatformId[];
  pck_certs: (Omit<StoredPlatform, 'simulated'> & { issuer_chain: string })[];
  collateral: { key: string; body: string; issuer_chain: string | null; fetched_at: number; next_update: number | null }[];
}

export const CACHE_FORMAT = 'confkube-pccs-cache/v1';

export class PccsFileError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_PCCS_FILE', message);
  }
}

/** Collateral keys a cache file may carry (the PCCS collateral routes' records; nothing else enters the store this way). */
const COLLATERAL_KEY = /^(tcb:[0-9a-f]{12}|qe|pckcrl:(processor|platform)|rootcacrl|certs)$/;

/**
 * Intel's PCKIDRetrievalTool CSV: one platform a line, Base16 fields `EncryptedPPID,PCE_ID,CPUSVN,PCE ISVSVN,QE_ID`
 * and, on multi-package platforms, `PlatformManifest` (docs/pccs.md §Air-gapped clusters).
 */
export function parseRetrievalCsv(text: string, where: string): PlatformId[] {
  const out: PlatformId[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 5 || f.length > 6) throw new PccsFileError(`${where} line ${i + 1}: expected 5 or 6 comma-separated fields (enc_ppid, pce_id, cpu_svn, pce_svn, qe_id[, platform_manifest]), got ${f.length}`);
    try {
      out.push(parsePlatform({ enc_ppid: f[0], pce_id: f[1], cpu_svn: f[2], pce_svn: f[3], qe_id: f[4], platform_manifest: f[5] ?? '' }, `${where} line ${i + 1}`));
    } catch (e) {
      throw new PccsFileError((e as Error).message);
    }
  });
  return out;
}

/** A cache file or a PCKIDRetrievalTool CSV, recognised by content. */
export function parseCacheInput(text: string, where: string): PccsCacheFile {
  if (!text.trimStart().startsWith('{')) return { format: CACHE_FORMAT, platforms: parseRetrievalCsv(text, where), pck_certs: [], collateral: [] };
  let v: Partial<PccsCacheFile>;
  try {
    v = JSON.parse(text) as Partial<PccsCacheFile>;
  } catch (e) {
    throw new PccsFileError(`${where}: not JSON (${(e as Error).message})`);
  }
  if (v.format !== CACHE_FORMAT) throw new PccsFileError(`${where}: format ${JSON.stringify(v.format)}, expected ${CACHE_FORMAT}`);
  if (!Array.isArray(v.platforms ?? []) || !Array.isArray(v.pck_certs ?? []) || !Array.isArray(v.collateral ?? [])) throw new PccsFileError(`${where}: platforms, pck_certs and collateral must be arrays`);
  return { format: CACHE_FORMAT, platforms: v.platforms ?? [], pck_certs: v.pck_certs ?? [], collateral: v.collateral ?? [] };
}

/** What an import did. */
export interface ImportSummary {
  platforms: number;
  pckCerts: number;
  collateral: number;
}

/**
 * Import into the store through the service's own checks: PCK certificates must chain to a trust anchor,
 * registrations must be well-formed, collateral keys must be the PCCS collateral's. Collateral goes first, so the
 * platforms' TCB Info is there when a request selects a certificate.
 */
export async function importCache(pck: PckService, store: { putCollateral(r: CollateralRecord): Promise<void> }, file: PccsCacheFile, where: string): Promise<ImportSummary> {
  // Everything is checked before anything is written: a file with one bad entry changes nothing.
  const check = <T>(what: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (isConfkubeError(e)) throw new PccsFileError(`${where}: ${what}: ${e.message}`);
      throw e;
    }
  };
  const collateral = file.collateral.map((c, i): CollateralRecord => {
    if (!c || typeof c.key !== 'string' || !COLLATERAL_KEY.test(c.key) || typeof c.body !== 'string') throw new PccsFileError(`${where}: collateral ${i}: expected a key (tcb:<fmspc>, qe, pckcrl:<ca>, rootcacrl, certs) and a base64 body`);
    return {
      key: c.key, body: new Uint8Array(Buffer.from(c.body, 'base64')), issuerChain: typeof c.issuer_chain === 'string' ? c.issuer_chain : null,
      fetchedAt: Number.isFinite(c.fetched_at) ? c.fetched_at : pck.options.now(), nextUpdate: Number.isFinite(c.next_update) ? c.next_update : null,
    };
  });
  const pckRecords = file.pck_certs.map((e, i) => check(`pck_certs ${i}`, () => {
    if (!e || typeof e !== 'object') throw new PccsFileError('expected an object');
    // A platform imported from a quote has no encrypted PPID: it is served by QE-ID and never fetched.
    const p = parsePlatform({ ...e, cpu_svn: '0'.repeat(32), pce_svn: '0000', enc_ppid: e.enc_ppid || '0'.repeat(768) }, `pck_certs ${i}`);
    if (e.ca !== 'processor' && e.ca !== 'platform') throw new PccsFileError('ca must be processor or platform');
    if (typeof e.fmspc !== 'string' || !/^[0-9a-fA-F]{12}$/.test(e.fmspc)) throw new PccsFileError('fmspc must be 12 hex digits');
    if (typeof e.pckcerts !== 'string' || typeof e.issuer_chain !== 'string') throw new PccsFileError('pckcerts and issuer_chain must be strings');
    return pck.checked({ ...p, enc_ppid: e.enc_ppid ? p.enc_ppid : '' }, { raw: e.pckcerts, issuerChain: e.issuer_chain, fmspc: e.fmspc, ca: e.ca }, false);
  }));
  const registrations = file.platforms.map((p, i) => check(`platforms ${i}`, () => parsePlatform(p, `platforms ${i}`)));
  // Collateral first, so a platform's TCB Info is there when a request selects one of its certificates.
  for (const r of [...collateral, ...pckRecords]) await store.putCollateral(r);
  for (const p of registrations) await pck.putRegistration(p, 'new');
  return { platforms: registrations.length, pckCerts: pckRecords.length, collateral: collateral.length };
}

/** The store's real platforms, their collateral and the registrations still to fetch (simulated data stays out). */
export async function exportCache(pck: PckService, store: { listCollateral(): Promise<CollateralRecord[]> }): Promise<PccsCacheFile> {
  const all = await store.listCollateral();
  const pckCerts: PccsCacheFile['pck_certs'] = [];
  for (const r of all.filter((x) => x.key.startsWith('pck:'))) {
    const p = pck.platformOf(r);
    if (p.simulated) continue;
    pckCerts.push({ qe_id: p.qe_id, pce_id: p.pce_id, enc_ppid: p.enc_ppid, platform_manifest: p.platform_manifest, fmspc: p.fmspc, ca: p.ca, issuer_chain: r.issuerChain ?? '', pckcerts: p.pckcerts });
  }
  return {
    format: CACHE_FORMAT,
    platforms: await pck.registrations(),
    pck_certs: pckCerts,
    collateral: all.filter((r) => COLLATERAL_KEY.test(r.key)).map((r) => ({ key: r.key, body: Buffer.from(r.body).toString('base64'), issuer_chain: r.issuerChain, fetched_at: r.fetchedAt, next_update: r.nextUpdate })),
  };
}
