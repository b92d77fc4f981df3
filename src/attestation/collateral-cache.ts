import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { join } from 'node:path';
import { collateralFromFiles, intelSgxRootCaDer, prepareCollateral, type Collateral, type CollateralInput } from '../dcap/index.js';
import { parseCert, parseCrl } from '../dcap/x509.js';
import { parseQuote } from '../sgx/quote.js';
import { parsePckExtensions } from '../sgx/pck.js';
import { toHex } from '../lib/bytes.js';
import { CollateralUnavailableError } from './errors.js';
import type { AttestationStore, CollateralRecord } from './deps.js';
import type { CollateralHashInput } from './claims.js';
import { fetchPcsCollateral } from './pcs-client.js';

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
}


const EMPTY = new Uint8Array(0);
const enc = new TextEncoder();

function pemOf(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----\n`;
}

function jsonNextUpdate(body: Uint8Array, key: string): number | null {
  try {
    const v = (JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, Record<string, unknown>>)[key]?.nextUpdate;
    return typeof v === 'string' ? Date.parse(v) : null;
  } catch {
    return null;
  }
}

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
  const chainPem = certs.map((c) => pemOf(c.der)).join('');
  // Issuer chains as PCS sends them in headers: the signer first, then CAs (roots last).
  const roots = certs.filter((c) => Buffer.compare(Buffer.from(c.subjectDer), Buffer.from(c.issuerDer)) === 0);
  const chainOf = (cn: RegExp): string | null => {
    const lead = certs.filter((c) => cn.test(c.subjectCn) && !roots.includes(c));
    return lead.length ? [...lead, ...roots].map((c) => pemOf(c.der)).join('') : null;
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

export class CollateralCache {
  private sets = new Map<string, CollateralSet>();
  private simRoot: Uint8Array | null = null;
  /** FMSPC per PCK leaf (by SHA-256): parsing the certificate's SGX extension costs more than verifying the quote. */
  private fmspcByLeaf = new LRUCache<string, string>({ max: 4096 });
  private readonly margin: number;

  constructor(private readonly store: AttestationStore, private readonly opts: CollateralOptions, private readonly now: () => number) {
    this.margin = opts.refreshMarginMs ?? 3600_000;
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

  /** The collateral set for a quote; fetched from upstream (and stored) when missing or due for refresh. */
  async forQuote(quote: Uint8Array): Promise<CollateralSet> {
    const q = parseQuote(quote);
    const chain = q.certificationData.pckChain ?? [];
    const simulated = this.simRoot !== null && chain.length > 0 && Buffer.compare(Buffer.from(chain[chain.length - 1]), Buffer.from(this.simRoot)) === 0;
    let fmspc: string;
    if (chain.length === 0) throw new CollateralUnavailableError('quote carries no PCK certificate chain (certification data type 5 expected)');
    const leafId = createHash('sha256').update(chain[0]).digest('hex');
    const known = this.fmspcByLeaf.get(leafId);
    if (known !== undefined) fmspc = known;
    else {
      try {
        fmspc = toHex(parsePckExtensions(chain[0]).fmspc);
      } catch (e) {
        throw new CollateralUnavailableError(`PCK certificate: ${(e as Error).message}`);
      }
      this.fmspcByLeaf.set(leafId, fmspc);
    }
    return this.get(fmspc, simulated);
  }

  async get(fmspc: string, simulated: boolean): Promise<CollateralSet> {
    const prefix = simulated ? 'sim/' : '';
    const id = `${prefix}${fmspc}`;
    const cached = this.sets.get(id);
    if (cached && !this.due(cached)) return cached;
    let set = await this.build(fmspc, prefix, simulated);
    if ((!set || this.due(set)) && !simulated && this.opts.upstream) {
      await this.fetch(fmspc);
      set = await this.build(fmspc, prefix, simulated);
    }
    if (!set) {
      // Directory collateral for one FMSPC: let the verifier say precisely that the FMSPC does not match.
      const any = (await this.store.listCollateral()).find((r) => r.key.startsWith(`${prefix}tcb:`));
      if (any) set = await this.build(any.key.slice(prefix.length + 4), prefix, simulated);
    }
    if (!set) throw new CollateralUnavailableError(`no collateral for FMSPC ${fmspc}${simulated ? ' (simulated platform)' : ''}`);
    this.sets.set(id, set);
    return set;
  }

  private due(s: CollateralSet): boolean {
    // Refresh ahead of nextUpdate, but at most every 5 minutes: an upstream that still serves the same
    // (soon stale) collateral must not be asked again on every attestation.
    const t = this.now();
    return this.opts.upstream !== undefined && !s.simulated && s.nextUpdate !== null && t >= s.nextUpdate - this.margin && t - s.fetchedAt >= 300_000;
  }

  /** Fetch from the upstream PCS/PCCS v4 API into the store. */
  async fetch(fmspc: string): Promise<void> {
    if (!this.opts.upstream) return;
    for (const r of await fetchPcsCollateral(this.opts.upstream, fmspc, this.now())) await this.store.putCollateral(r);
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
      certificates: extra.flatMap((pem) => pemDers(pem)),
    };
    const all = [tcb, qe, ...pckCrls, ...(root ? [root] : [])];
    const nexts = all.map((r) => r.nextUpdate).filter((n): n is number => n !== null);
    return {
      fmspc,
      simulated,
      anchors: simulated && this.simRoot ? [this.simRoot] : (this.opts.intelAnchors ?? [intelSgxRootCaDer()]),
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

function pemDers(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64')));
  return out;
}
