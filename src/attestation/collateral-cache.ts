import { readdirSync, readFileSync, statSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { join } from 'node:path';
import { collateralFromFiles, intelSgxRootCaDer, prepareCollateral, type Collateral, type CollateralInput } from '../dcap/index.js';
import { parseCert, parseCrl } from '../dcap/x509.js';
import type { Quote } from '../sgx/quote.js';
import { isConfkubeError } from '../lib/errors.js';
import { toHex } from '../lib/bytes.js';
import { pemDecode, toPem } from '../lib/pem.js';
import type { PckExtensions } from '../sgx/pck.js';
import { CollateralUnavailableError } from './errors.js';
import type { AttestationStore, CollateralRecord, QuoteVerifier } from './deps.js';
import type { CollateralHashInput } from './claims.js';
import { fetchPcsCollateral, jsonNextUpdate } from './pcs-client.js';

/**
 * One verifiable collateral set: Intel's (by FMSPC) or the simulated platform's. Built from store records that
 * keep the raw bytes as served (docs/dcap.md §Signed JSON: signatures cover the exact bytes), so the same records back
 * verification, `x-ms-sgx-collateral` hashes and the PCCS API the service serves.
 */
export interface CollateralSet {
  fmspc: string;
  simulated: boolean;
  anchors: Uint8Array[];
  collateral: Collateral;
  hashes: CollateralHashInput;
  /** Earliest nextUpdate (ms) among the pieces; refresh before it. */
  nextUpdate: number | null;
  fetchedAt: number;
}

export interface CollateralOptions {
  /** Offline: a directory of PCS bodies, certificates and CRLs, recognised by content. */
  directory?: string;
  /** Online: base URL of an Intel PCS / PCCS v4 API, e.g. https://api.trustedservices.intel.com. */
  upstream?: string;
  /** Simulation mode: the simulated platform's root (an extra trust anchor) and collateral files. */
  simulated?: { rootCertDer: Uint8Array; files: { name: string; data: Uint8Array }[] };
  /** Trust anchors for real quotes; default the Intel SGX Root CA. */
  intelAnchors?: Uint8Array[];
  /** Refresh this long before nextUpdate (ms). */
  refreshMarginMs?: number;
  /** One upstream exchange (all five documents) gives up after this long (ms, default 10 s). */
  upstreamTimeoutMs?: number;
  /** After an upstream failure, the same FMSPC is not asked for again for this long (ms, default 60 s). */
  negativeTtlMs?: number;
  /** Collateral sets kept in memory (default 256; the store keeps everything fetched). */
  maxSets?: number;
}

const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();

function fmspcOfTcbInfo(body: Uint8Array): string {
  const t = (JSON.parse(Buffer.from(body).toString('utf8')) as { tcbInfo?: { fmspc?: string } }).tcbInfo?.fmspc;
  if (typeof t !== 'string') throw new CollateralUnavailableError('TCB Info without fmspc');
  return t.toLowerCase();
}

/** Store records (prefix '' for Intel, 'sim/' for the simulated platform) from a CollateralInput of raw files. */
export function recordsFromInput(input: CollateralInput, prefix: string, now: number): CollateralRecord[] {
  const raw = (v: CollateralInput['tcbInfo']): Uint8Array => {
    if (typeof v === 'string') return enc.encode(v);
    if (v instanceof Uint8Array) return v;
    throw new CollateralUnavailableError('collateral must be given as raw PCS bodies');
  };
  const certs = (input.certificates ?? []).map((d) => parseCert(d, 'collateral certificate'));
  const chainPem = certs.map((c) => toPem(c.der)).join('');
  // Issuer chains as PCS sends them in headers: the signer first, then CAs (roots last).
  const roots = certs.filter((c) => Buffer.compare(Buffer.from(c.subjectDer), Buffer.from(c.issuerDer)) === 0);
  const chainOf = (cn: RegExp): string | null => {
    const lead = certs.filter((c) => cn.test(c.subjectCn) && !roots.includes(c));
    return lead.length ? [...lead, ...roots].map((c) => toPem(c.der)).join('') : null;
  };
  const tcbChain = typeof input.tcbInfoIssuerChain === 'string' ? input.tcbInfoIssuerChain : chainOf(/TCB Signing/i);
  const qeChain = typeof input.qeIdentityIssuerChain === 'string' ? input.qeIdentityIssuerChain : chainOf(/TCB Signing/i);
  const crlChain = typeof input.pckCrlIssuerChain === 'string' ? input.pckCrlIssuerChain : chainOf(/PCK (Platform|Processor) CA/i);
  const tcb = raw(input.tcbInfo);
  const qe = raw(input.qeIdentity);
  const out: CollateralRecord[] = [
    { key: `${prefix}tcb:${fmspcOfTcbInfo(tcb)}`, body: tcb, issuerChain: tcbChain, fetchedAt: now, nextUpdate: jsonNextUpdate(tcb, 'tcbInfo') },
    { key: `${prefix}qe`, body: qe, issuerChain: qeChain, fetchedAt: now, nextUpdate: jsonNextUpdate(qe, 'enclaveIdentity') },
  ];
  for (const d of input.pckCrls) {
    const crl = parseCrl(d, 'PCK CRL');
    const ca = /Platform/i.test(crl.issuerCn) ? 'platform' : 'processor';
    out.push({ key: `${prefix}pckcrl:${ca}`, body: crl.der, issuerChain: crlChain, fetchedAt: now, nextUpdate: crl.nextUpdate });
  }
  if (input.rootCaCrl) {
    const crl = parseCrl(input.rootCaCrl, 'root CA CRL');
    out.push({ key: `${prefix}rootcacrl`, body: crl.der, issuerChain: null, fetchedAt: now, nextUpdate: crl.nextUpdate });
  }
  if (chainPem) out.push({ key: `${prefix}certs`, body: enc.encode(chainPem), issuerChain: null, fetchedAt: now, nextUpdate: null });
  return out;
}

export function readCollateralDirectory(dir: string): { name: string; data: Uint8Array }[] {
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && statSync(join(dir, n)).isFile())
    .map((n) => ({ name: n, data: new Uint8Array(readFileSync(join(dir, n))) }));
}

/**
 * Collateral sets by FMSPC, built from the store and kept in a bounded LRU. Upstream (PCS/PCCS) is asked only
 * for an FMSPC taken from a PCK certificate that chains to a trust anchor, or to refresh one already stored:
 * a caller cannot make the service fetch arbitrary FMSPCs. Concurrent requests for one FMSPC share one
 * upstream exchange, a failed exchange is remembered for `negativeTtlMs`, and every exchange has a timeout.
 */
export class CollateralCache {
  private readonly sets: LRUCache<string, CollateralSet>;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly failures: LRUCache<string, CollateralUnavailableError>;
  private simRoot: Uint8Array | null = null;
  private readonly margin: number;
  /** Upstream exchanges started (metrics and tests). */
  upstreamFetches = 0;

  constructor(
    private readonly store: AttestationStore,
    private readonly opts: CollateralOptions,
    private readonly now: () => number,
    private readonly verifier: QuoteVerifier,
  ) {
    this.margin = opts.refreshMarginMs ?? 3600_000;
    this.sets = new LRUCache({ max: opts.maxSets ?? 256 });
    this.failures = new LRUCache({ max: 4096, ttl: opts.negativeTtlMs ?? 60_000 });
  }

  /** Import the configured sources into the store (idempotent; every replica may do it). */
  async init(): Promise<void> {
    const t = this.now();
    if (this.opts.directory) {
      for (const r of recordsFromInput(collateralFromFiles(readCollateralDirectory(this.opts.directory)), '', t)) await this.store.putCollateral(r);
    }
    if (this.opts.simulated) {
      this.simRoot = this.opts.simulated.rootCertDer;
      for (const r of recordsFromInput(collateralFromFiles(this.opts.simulated.files), 'sim/', t)) await this.store.putCollateral(r);
    }
  }

  /** The collateral set for a parsed quote; fetched from upstream (and stored) when missing or due for refresh. */
  async forQuote(quote: Quote): Promise<CollateralSet> {
    const chain = quote.certificationData.pckChain ?? [];
    if (chain.length === 0) throw new CollateralUnavailableError('quote carries no PCK certificate chain (certification data type 5 expected)');
    const simulated = this.simRoot !== null && Buffer.compare(Buffer.from(chain[chain.length - 1]), Buffer.from(this.simRoot)) === 0;
    const fmspc = toHex(this.platform(quote).fmspc);
    // Upstream is asked only for a platform whose PCK certificate chains to a trust anchor.
    return this.get(fmspc, simulated, () => this.platform(quote, this.anchors(false)));
  }

  /**
   * The set for an FMSPC. Without `vouch` (the PCCS routes) only an FMSPC already stored is refreshed from
   * upstream; with it, `vouch` must accept the platform before an unknown FMSPC is fetched.
   */
  async get(fmspc: string, simulated: boolean, vouch?: () => unknown): Promise<CollateralSet> {
    const prefix = simulated ? 'sim/' : '';
    const id = `${prefix}${fmspc}`;
    const cached = this.sets.get(id);
    if (cached && !this.due(cached)) return cached;
    let set = await this.build(fmspc, prefix, simulated);
    if ((!set || this.due(set)) && !simulated && this.opts.upstream && (set || vouch)) {
      try {
        if (!set) vouch!();
        await this.fetch(fmspc);
        set = await this.build(fmspc, prefix, simulated);
      } catch (e) {
        // A stored set past its refresh point still serves (strict verification refuses it once expired).
        if (!set || !(e instanceof CollateralUnavailableError)) throw e;
      }
    }
    if (!set) {
      // Directory collateral for one FMSPC: let the verifier say precisely that the FMSPC does not match.
      // Kept under that FMSPC's own id, so unknown FMSPCs add nothing to the cache.
      const any = (await this.store.listCollateral()).find((r) => r.key.startsWith(`${prefix}tcb:`));
      const other = any?.key.slice(prefix.length + 4);
      if (other !== undefined && other !== fmspc) return this.get(other, simulated);
    }
    if (!set) throw new CollateralUnavailableError(`no collateral for FMSPC ${fmspc}${simulated ? ' (simulated platform)' : ''}`);
    this.sets.set(id, set);
    return set;
  }

  /** Collateral sets held in memory (bounded by `maxSets`). */
  get size(): number {
    return this.sets.size;
  }

  private platform(quote: Quote, anchors?: Uint8Array[]): PckExtensions {
    try {
      return this.verifier.pckExtensions(quote, anchors);
    } catch (e) {
      if (!isConfkubeError(e)) throw e;
      throw new CollateralUnavailableError(`PCK certificate: ${e.message}`, e.code);
    }
  }

  private anchors(simulated: boolean): Uint8Array[] {
    return simulated && this.simRoot ? [this.simRoot] : (this.opts.intelAnchors ?? [intelSgxRootCaDer()]);
  }

  private due(s: CollateralSet): boolean {
    // Refresh ahead of nextUpdate, but at most every 5 minutes: an upstream that still serves the same
    // (soon stale) collateral must not be asked again on every attestation.
    const t = this.now();
    return this.opts.upstream !== undefined && !s.simulated && s.nextUpdate !== null && t >= s.nextUpdate - this.margin && t - s.fetchedAt >= 300_000;
  }

  /** Fetch from the upstream PCS/PCCS v4 API into the store: one exchange per FMSPC at a time, failures remembered. */
  async fetch(fmspc: string): Promise<void> {
    const upstream = this.opts.upstream;
    if (!upstream) return;
    const failed = this.failures.get(fmspc);
    if (failed) throw failed;
    let running = this.inflight.get(fmspc);
    if (!running) {
      this.upstreamFetches++;
      running = (async () => {
        try {
          const records = await fetchPcsCollateral(upstream, fmspc, this.now(), this.opts.upstreamTimeoutMs);
          for (const r of records) await this.store.putCollateral(r);
        } catch (e) {
          const err = e instanceof CollateralUnavailableError ? e : new CollateralUnavailableError(`upstream ${upstream}: ${(e as Error).message}`);
          this.failures.set(fmspc, err);
          throw err;
        } finally {
          this.inflight.delete(fmspc);
        }
      })();
      this.inflight.set(fmspc, running);
    }
    await running;
  }

  /** Drop the in-memory sets so the next request rebuilds from the store (another replica may have refreshed). */
  invalidate(): void {
    this.sets.clear();
  }

  private async build(fmspc: string, prefix: string, simulated: boolean): Promise<CollateralSet | null> {
    const [tcb, qe, proc, plat, root, certs] = await Promise.all(
      [`tcb:${fmspc}`, 'qe', 'pckcrl:processor', 'pckcrl:platform', 'rootcacrl', 'certs'].map((k) => this.store.getCollateral(prefix + k)),
    );
    if (!tcb || !qe) return null;
    const pckCrls = [proc, plat].filter((r): r is CollateralRecord => r !== null);
    const extra = certs ? [Buffer.from(certs.body).toString('latin1')] : [];
    const input: CollateralInput = {
      tcbInfo: tcb.body,
      qeIdentity: qe.body,
      ...(tcb.issuerChain ? { tcbInfoIssuerChain: tcb.issuerChain } : {}),
      ...(qe.issuerChain ? { qeIdentityIssuerChain: qe.issuerChain } : {}),
      pckCrls: pckCrls.map((r) => r.body),
      ...(pckCrls[0]?.issuerChain ? { pckCrlIssuerChain: pckCrls[0].issuerChain } : {}),
      ...(root ? { rootCaCrl: root.body } : {}),
      certificates: extra.flatMap((pem) => pemDecode(pem)),
    };
    const all = [tcb, qe, ...pckCrls, ...(root ? [root] : [])];
    const nexts = all.map((r) => r.nextUpdate).filter((n): n is number => n !== null);
    return {
      fmspc,
      simulated,
      anchors: this.anchors(simulated),
      collateral: prepareCollateral(input),
      hashes: {
        tcbInfo: tcb.body,
        tcbInfoCerts: enc.encode(tcb.issuerChain ?? ''),
        tcbInfoCrl: pckCrls[0]?.body ?? EMPTY,
        qeIdentity: qe.body,
        qeIdentityCerts: enc.encode(qe.issuerChain ?? ''),
        qeIdentityCrl: root?.body ?? EMPTY,
      },
      nextUpdate: nexts.length ? Math.min(...nexts) : null,
      fetchedAt: Math.min(...all.map((r) => r.fetchedAt)),
    };
  }
}
