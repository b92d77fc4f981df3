import { LRUCache } from 'lru-cache';
import { AttestationError } from '../attestation/errors.js';
import type { AttestationStore, CollateralRecord } from '../attestation/deps.js';
import { parseSignedJson } from '../dcap/signed-json.js';
import { parseTcbInfo, type TcbInfo } from '../dcap/tcb-info.js';
import { selectPckCert } from '../dcap/pck-cert-selection.js';
import { certsFrom, issuedBy, parseCert } from '../dcap/x509.js';
import { bytesEqual, fromHex, toHex } from '../lib/bytes.js';
import { isConfkubeError } from '../lib/errors.js';
import { pemDecode } from '../lib/pem.js';
import { parsePckExtensions, type PckExtensions } from '../sgx/pck.js';
import { parsePckCertsBody, type PckCertsAnswer, type PckSource } from './pcs-source.js';
import { invalid, pceSvnFromHex, pckKey, registrationKey, type PckCertEntry, type PlatformId } from './platform.js';

/** Intel PCCS's caching modes (docs/pccs.md §Caching modes). */
export const PCCS_MODES = ['LAZY', 'REQ', 'OFFLINE'] as const;
export type PccsMode = (typeof PCCS_MODES)[number];

/** A platform's PCK certificates as stored (the body of a `pck:<pce_id>:<qe_id>` record; the issuer chain is the record's). */
export interface StoredPlatform {
  qe_id: string;
  pce_id: string;
  enc_ppid: string;
  platform_manifest: string;
  /** Upper-case Base16, as PCS sends `SGX-FMSPC`. */
  fmspc: string;
  ca: 'processor' | 'platform';
  simulated: boolean;
  /** The PCS v4 `pckcerts` body, exactly as received or imported. */
  pckcerts: string;
}

/** What GET /pckcert answers: the chosen certificate and the headers Intel's PCS sends with it. */
export interface PckCertAnswer {
  cert: string;
  issuerChain: string;
  tcbm: string;
  fmspc: string;
  ca: 'processor' | 'platform';
}

export interface PckServiceOptions {
  mode: PccsMode;
  /** Intel PCS (or a PCCS) with the operator's API key; never asked in OFFLINE mode. */
  upstream?: PckSource;
  /** The simulated platform's own PCS (in process, so allowed in every mode) and its root. */
  simulated?: { source: PckSource; rootCertDer: Uint8Array };
  /** Roots the PCK certificates of real platforms must chain to (default: the service's Intel anchors). */
  intelAnchors: Uint8Array[];
  now: () => number;
  /** Fetches TCB Info (and the rest of the collateral) for a cached platform's FMSPC into the store; LAZY and REQ only. */
  fetchCollateral?: (fmspc: string) => Promise<void>;
  /** An upstream failure for a platform is remembered this long before it is asked again (default 60 s). */
  negativeTtlMs?: number;
}

const notFound = (message: string): AttestationError => new AttestationError(404, 'PlatformNotFound', message, 'ERR_PCCS_PLATFORM_NOT_FOUND');
const utf8 = new TextDecoder();

/**
 * PCK certificates for quote generation, as Intel's PCCS serves them (docs/pccs.md): a platform's certificates
 * for every TCB level are fetched once (on a miss in LAZY mode, at registration in REQ mode, never in OFFLINE
 * mode), checked to chain to a trust anchor, stored, and each request picks one with Intel's PCK certificate
 * selection against the FMSPC's TCB Info. Concurrent misses for one platform share one upstream exchange.
 */
export class PckService {
  private readonly inflight = new Map<string, Promise<CollateralRecord>>();
  private readonly collateralFetches = new Map<string, Promise<void>>();
  private readonly failures: LRUCache<string, AttestationError>;
  private readonly parsed = new LRUCache<string, { entries: PckCertEntry[]; ext: PckExtensions[] }>({ max: 1024 });
  private readonly tcbInfos = new LRUCache<string, TcbInfo>({ max: 256 });

  constructor(private readonly store: Pick<AttestationStore, 'getCollateral' | 'putCollateral' | 'listCollateral'>, readonly options: PckServiceOptions) {
    this.failures = new LRUCache({ max: 4096, ttl: options.negativeTtlMs ?? 60_000 });
  }

  get mode(): PccsMode {
    return this.options.mode;
  }

  /** POST /platforms: REQ and LAZY fetch now (an error is the caller's answer), OFFLINE queues the platform for `pccs export`. */
  async register(p: PlatformId): Promise<'cached' | 'fetched' | 'queued'> {
    const rec = await this.store.getCollateral(pckKey(p.pce_id, p.qe_id));
    // Intel PCCS: a registration without a manifest matches a cached one; a changed manifest means new certificates.
    if (rec && (!p.platform_manifest || this.platformOf(rec).platform_manifest === p.platform_manifest)) return 'cached';
    const source = this.sourceFor(p);
    if (!source) {
      await this.putRegistration(p, 'new');
      return 'queued';
    }
    if (this.mode === 'REQ') await this.putRegistration(p, 'new');
    await this.fetch(p, source, true);
    if (this.mode === 'REQ') await this.putRegistration(p, 'fetched');
    return 'fetched';
  }

  /** GET /pckcert: the best certificate for the platform's raw TCB (QE-ID and PCE-ID name the platform, as in Intel PCCS). */
  async pckCert(q: { qe_id: string; pce_id: string; cpu_svn: string; pce_svn: string; enc_ppid: string }): Promise<PckCertAnswer> {
    let rec = await this.store.getCollateral(pckKey(q.pce_id, q.qe_id));
    if (!rec) {
      const p = { ...q, platform_manifest: '' };
      const source = this.sourceFor(p);
      if (!source || (this.mode !== 'LAZY' && source === this.options.upstream)) {
        throw notFound(`no PCK certificates cached for QE-ID ${q.qe_id}, PCE-ID ${q.pce_id} (${this.mode} mode: ${this.mode === 'OFFLINE' ? 'import them (confkube pccs import)' : 'register the platform first'})`);
      }
      if (!q.enc_ppid) throw invalid('encrypted_ppid: required for a platform that is not cached');
      if (/^0+$/.test(q.enc_ppid)) throw notFound('encrypted_ppid is all zero: the platform did not provide one');
      rec = await this.fetch(p, source, false);
    }
    return this.select(rec, { cpuSvn: fromHex(q.cpu_svn, 'cpusvn'), pceSvn: pceSvnFromHex(q.pce_svn) });
  }

  /** POST /pckcert (PCS v4's platform-manifest form): a cached platform with that manifest; never fetched (no QE-ID to key it). */
  async pckCertByManifest(q: { platform_manifest: string; pce_id: string; cpu_svn: string; pce_svn: string }): Promise<PckCertAnswer> {
    const rec = (await this.records()).find((r) => {
      const p = this.platformOf(r);
      return p.pce_id === q.pce_id && p.platform_manifest === q.platform_manifest;
    });
    if (!rec) throw notFound(`no cached platform with this platform manifest and PCE-ID ${q.pce_id} (register it with POST /platforms)`);
    return this.select(rec, { cpuSvn: fromHex(q.cpu_svn, 'cpusvn'), pceSvn: pceSvnFromHex(q.pce_svn) });
  }

  /** GET /pckcerts: every TCB level's certificate of a cached platform, by QE-ID or by its encrypted PPID. */
  async pckCerts(q: { qe_id: string; pce_id: string; enc_ppid: string }): Promise<{ platform: StoredPlatform; issuerChain: string }> {
    let rec = q.qe_id ? await this.store.getCollateral(pckKey(q.pce_id, q.qe_id)) : null;
    if (!rec && q.enc_ppid) {
      rec = (await this.records()).find((r) => {
        const p = this.platformOf(r);
        return p.enc_ppid === q.enc_ppid && p.pce_id === q.pce_id;
      }) ?? null;
    }
    if (!rec && q.qe_id && q.enc_ppid && this.mode === 'LAZY') {
      const p = { ...q, cpu_svn: '', pce_svn: '', platform_manifest: '' };
      const source = this.sourceFor(p);
      if (source) rec = await this.fetch(p, source, false);
    }
    if (!rec) throw notFound(`no PCK certificates cached for ${q.qe_id ? `QE-ID ${q.qe_id}` : 'this encrypted PPID'}, PCE-ID ${q.pce_id}`);
    return { platform: this.platformOf(rec), issuerChain: rec.issuerChain ?? '' };
  }

  /**
   * Fetch every cached real platform again (Intel PCCS `refresh?type=certs`): after a TCB recovery PCS issues
   * certificates for new TCB levels. Restricted to platforms of `fmspcs` when given; never in OFFLINE mode.
   */
  async refreshCertificates(fmspcs?: string[]): Promise<{ refreshed: number; failed: { qe_id: string; error: string }[] }> {
    const upstream = this.options.upstream;
    if (this.mode === 'OFFLINE' || !upstream) throw invalid(`refresh: the service is in ${this.mode} mode${upstream ? '' : ' with no upstream'}; import a new cache file instead`);
    const want = fmspcs?.map((f) => f.toUpperCase());
    let refreshed = 0;
    const failed: { qe_id: string; error: string }[] = [];
    for (const r of await this.records()) {
      const p = this.platformOf(r);
      if (p.simulated || (want && !want.includes(p.fmspc)) || (!p.enc_ppid && !p.platform_manifest)) continue;
      try {
        await this.fetch(p, upstream, true);
        refreshed++;
      } catch (e) {
        if (!(e instanceof AttestationError)) throw e;
        failed.push({ qe_id: p.qe_id, error: e.message });
      }
    }
    return { refreshed, failed };
  }

  /** Fetch the TCB Info, QE Identity and CRLs of these FMSPCs again from the PCK upstream (Intel PCCS `refresh`). */
  async refreshCollateral(fmspcs: string[]): Promise<{ refreshed: number; failed: { fmspc: string; error: string }[] }> {
    const fetchCollateral = this.options.fetchCollateral;
    if (this.mode === 'OFFLINE' || !fetchCollateral) throw invalid(`refresh: the service is in ${this.mode} mode${fetchCollateral ? '' : ' with no upstream'}; import a new cache file instead`);
    const failed: { fmspc: string; error: string }[] = [];
    for (const f of fmspcs) await fetchCollateral(f).catch((e: Error) => failed.push({ fmspc: f, error: e.message }));
    return { refreshed: fmspcs.length - failed.length, failed };
  }

  /** Platforms registered and not yet fetched (OFFLINE, or REQ after a failed fetch): what `pccs export` lists. */
  async registrations(): Promise<PlatformId[]> {
    const out: PlatformId[] = [];
    for (const r of await this.store.listCollateral()) {
      if (!r.key.startsWith('pckreg:')) continue;
      const v = JSON.parse(utf8.decode(r.body)) as PlatformId & { status: string };
      if (v.status !== 'new' || (await this.store.getCollateral(pckKey(v.pce_id, v.qe_id)))) continue;
      const { status: _s, ...p } = v;
      out.push(p);
    }
    return out;
  }

  /** Every cached platform (real ones first), for export. */
  async records(): Promise<CollateralRecord[]> {
    return (await this.store.listCollateral()).filter((r) => r.key.startsWith('pck:'));
  }

  platformOf(r: CollateralRecord): StoredPlatform {
    return JSON.parse(utf8.decode(r.body)) as StoredPlatform;
  }

  /**
   * Store a platform's certificates after checking them: each parses, carries the answer's FMSPC and one PPID, and
   * chains through the issuer chain to a trust anchor (a PCS answer or an import cannot plant a certificate).
   */
  async put(p: Pick<PlatformId, 'qe_id' | 'pce_id' | 'enc_ppid' | 'platform_manifest'>, a: Omit<PckCertsAnswer, 'entries'>, simulated: boolean): Promise<CollateralRecord> {
    const rec = this.checked(p, a, simulated);
    await this.store.putCollateral(rec);
    return rec;
  }

  /** The store record for a platform's certificates, after the checks `put` makes; nothing is written. */
  checked(p: Pick<PlatformId, 'qe_id' | 'pce_id' | 'enc_ppid' | 'platform_manifest'>, a: Omit<PckCertsAnswer, 'entries'>, simulated: boolean): CollateralRecord {
    const where = `PCK certificates of QE-ID ${p.qe_id}`;
    const entries = parsePckCertsBody(a.raw, where);
    const chain = certsFrom(a.issuerChain, `${where}: issuer chain`);
    const anchors = simulated && this.options.simulated ? [this.options.simulated.rootCertDer] : this.options.intelAnchors;
    const root = chain[chain.length - 1];
    if (chain.length < 2 || !anchors.some((d) => bytesEqual(d, root.der)) || !issuedBy(chain[0], root)) {
      throw new AttestationError(502, 'UntrustedPckChain', `${where}: the issuer chain does not lead to a trust anchor`, 'ERR_PCCS_PCK_CHAIN_INVALID');
    }
    let ppid: Uint8Array | null = null;
    for (const [i, e] of entries.entries()) {
      if (e.cert === null) continue;
      const der = pemDecode(e.cert)[0];
      const c = der ? parseCert(der, `${where}: certificate ${i}`) : null;
      const ext = der ? parsePckExtensions(der) : null;
      if (!c || !ext || !issuedBy(c, chain[0])) throw new AttestationError(502, 'UntrustedPckChain', `${where}: certificate ${i} is not issued by the PCK CA of the issuer chain`, 'ERR_PCCS_PCK_CHAIN_INVALID');
      if (toHex(ext.fmspc) !== a.fmspc.toLowerCase()) throw new AttestationError(502, 'UpstreamBadAnswer', `${where}: certificate ${i} has FMSPC ${toHex(ext.fmspc)}, the answer says ${a.fmspc}`, 'ERR_PCCS_UPSTREAM_BAD_ANSWER');
      if (ppid && !bytesEqual(ppid, ext.ppid)) throw new AttestationError(502, 'UpstreamBadAnswer', `${where}: certificate ${i} is of another platform (PPID differs)`, 'ERR_PCCS_UPSTREAM_BAD_ANSWER');
      ppid = ext.ppid;
    }
    if (!ppid) throw notFound(`${where}: no TCB level has a certificate ("Not available")`);
    const body: StoredPlatform = { qe_id: p.qe_id, pce_id: p.pce_id, enc_ppid: p.enc_ppid, platform_manifest: p.platform_manifest, fmspc: a.fmspc.toUpperCase(), ca: a.ca, simulated, pckcerts: a.raw };
    return { key: pckKey(p.pce_id, p.qe_id), body: new TextEncoder().encode(JSON.stringify(body)), issuerChain: a.issuerChain, fetchedAt: this.options.now(), nextUpdate: null };
  }

  async putRegistration(p: PlatformId, status: 'new' | 'fetched'): Promise<void> {
    await this.store.putCollateral({ key: registrationKey(p.pce_id, p.qe_id), body: new TextEncoder().encode(JSON.stringify({ ...p, status })), issuerChain: null, fetchedAt: this.options.now(), nextUpdate: null });
  }

  private sourceFor(p: Pick<PlatformId, 'enc_ppid' | 'qe_id'>): PckSource | null {
    const sim = this.options.simulated?.source;
    if (sim?.knows(p)) return sim;
    return this.mode === 'OFFLINE' ? null : (this.options.upstream ?? null);
  }

  /** One upstream exchange per platform at a time; a failure is remembered (negativeTtlMs) unless `retry`. */
  private async fetch(p: Pick<PlatformId, 'qe_id' | 'pce_id' | 'enc_ppid' | 'platform_manifest'>, source: PckSource, retry: boolean): Promise<CollateralRecord> {
    const key = pckKey(p.pce_id, p.qe_id);
    const failed = retry ? undefined : this.failures.get(key);
    if (failed) throw failed;
    let running = this.inflight.get(key);
    if (!running) {
      running = (async () => {
        try {
          const simulated = source === this.options.simulated?.source;
          const answer = await source.pckCerts(p);
          const rec = await this.put(p, answer, simulated);
          this.failures.delete(key);
          return rec;
        } catch (e) {
          const err = e instanceof AttestationError ? e
            : (e as { status?: number }).status === 404 ? notFound(`${source.name}: ${(e as Error).message}`)
              : new AttestationError(503, 'UpstreamUnavailable', `${source.name}: ${(e as Error).message}`, 'ERR_PCCS_UPSTREAM_UNAVAILABLE');
          this.failures.set(key, err);
          throw err;
        } finally {
          this.inflight.delete(key);
        }
      })();
      this.inflight.set(key, running);
    }
    return running;
  }

  private async tcbInfo(fmspc: string, simulated: boolean): Promise<TcbInfo> {
    const key = `${simulated ? 'sim/' : ''}tcb:${fmspc}`;
    let rec = await this.store.getCollateral(key);
    if (!rec && !simulated && this.mode !== 'OFFLINE' && this.options.fetchCollateral) {
      // Only for the FMSPC of a platform already cached (its certificates chained to a trust anchor).
      await this.fetchOnce(key, () => this.options.fetchCollateral!(fmspc));
      rec = await this.store.getCollateral(key);
    }
    if (!rec) throw notFound(`no TCB Info for FMSPC ${fmspc}: PCK certificate selection needs it (${this.mode === 'OFFLINE' ? 'import it with the PCK certificates' : 'the upstream did not provide it'})`);
    const id = `${rec.key}@${rec.fetchedAt}`;
    let info = this.tcbInfos.get(id);
    if (!info) {
      info = parseTcbInfo(parseSignedJson(rec.body, 'tcbInfo', `TCB Info ${fmspc}`));
      this.tcbInfos.set(id, info);
    }
    return info;
  }

  /** One exchange per key at a time; a failure is a 503 remembered for negativeTtlMs. */
  private async fetchOnce(key: string, run: () => Promise<void>): Promise<void> {
    const failed = this.failures.get(key);
    if (failed) throw failed;
    let running = this.collateralFetches.get(key);
    if (!running) {
      running = run()
        .catch((e: unknown) => {
          const err = e instanceof AttestationError ? e : new AttestationError(503, 'UpstreamUnavailable', `TCB Info upstream: ${(e as Error).message}`, 'ERR_PCCS_UPSTREAM_UNAVAILABLE');
          this.failures.set(key, err);
          throw err;
        })
        .finally(() => this.collateralFetches.delete(key));
      this.collateralFetches.set(key, running);
    }
    await running;
  }

  private async select(rec: CollateralRecord, raw: { cpuSvn: Uint8Array; pceSvn: number }): Promise<PckCertAnswer> {
    const p = this.platformOf(rec);
    const info = await this.tcbInfo(p.fmspc.toLowerCase(), p.simulated);
    const id = `${rec.key}@${rec.fetchedAt}`;
    let certs = this.parsed.get(id);
    if (!certs) {
      const entries = parsePckCertsBody(p.pckcerts, rec.key).filter((e) => e.cert !== null);
      certs = { entries, ext: entries.map((e) => parsePckExtensions(pemDecode(e.cert!)[0])) };
      this.parsed.set(id, certs);
    }
    let i: number;
    try {
      i = selectPckCert(info, raw, certs.ext);
    } catch (e) {
      if (!isConfkubeError(e)) throw e;
      throw new AttestationError(404, 'SelectionFailed', `PCK certificate selection for QE-ID ${p.qe_id}: ${e.message}`, 'ERR_PCCS_SELECTION');
    }
    if (i < 0) throw notFound(`no PCK certificate of QE-ID ${p.qe_id} has a TCB at or below CPUSVN ${toHex(raw.cpuSvn)}, PCESVN ${raw.pceSvn}`);
    return { cert: certs.entries[i].cert!, issuerChain: rec.issuerChain ?? '', tcbm: certs.entries[i].tcbm, fmspc: p.fmspc, ca: p.ca };
  }
}
