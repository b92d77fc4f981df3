import { X509Certificate, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { bytesEqual, toHex } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { parseQuote, INTEL_QE_VENDOR_ID, TEE_TYPE_SGX, type Quote } from '../sgx/quote.js';
import { parsePckExtensions, type PckExtensions } from '../sgx/pck.js';
import type { ReportBody } from '../sgx/report.js';
import { isPrepared, prepareCollateral, type Collateral, type CollateralInput } from './collateral.js';
import { matchQeLevel, qeIdentityMismatch } from './qe-identity.js';
import { convergeTcbStatus } from './tcb-status.js';
import { isTcbStatus, matchTcbLevel, type TcbStatus } from './tcb-info.js';
import { anchorNames, asAnchor, chainToAnchor, resolveAnchors, type AnchorCache, type Anchors } from './trust.js';
import { issuedBy, crlSignedBy, parseCert, type Cert, type Crl } from './x509.js';

export interface VerifyOptions {
  /** Verification time: a Date or Unix seconds. An argument, so a verdict depends on its inputs alone. */
  now: Date | number;
  /** DER root certificates to trust. Default: the Intel SGX Root CA. */
  trustAnchors?: readonly Uint8Array[];
  /** Expired or not-yet-valid collateral is a rejection, not only a report. */
  strict?: boolean;
  /** Without CRLs revocation cannot be checked: a rejection unless this is set (then a warning). */
  allowMissingCrls?: boolean;
}

export interface VerdictIssue {
  code: string;
  message: string;
}

export interface Verdict {
  /** Authentic, chained to a trust anchor, not revoked, and no other error. The TCB status is policy. */
  ok: boolean;
  status: TcbStatus | null;
  platformStatus: TcbStatus | null;
  qeStatus: TcbStatus | null;
  /** Sorted, unique union of the platform and QE level advisories (as Intel QVS reports them). */
  advisoryIds: string[];
  /** The matched platform level's advisories, in collateral order (Intel QvE `sa_list`). */
  platformAdvisoryIds: string[];
  qeAdvisoryIds: string[];
  tcbDate: string | null;
  qeTcbDate: string | null;
  tcbEvaluationDataNumber: number | null;
  tcbInfoVersion: number | null;
  collateralExpired: boolean;
  collateralExpiredReasons: string[];
  earliestExpiry: string | null;
  latestIssue: string | null;
  debug: boolean;
  fmspc: string | null;
  pceId: string | null;
  pckCa: 'processor' | 'platform' | null;
  sgxType: number | null;
  report: ReportBody | null;
  qeReport: ReportBody | null;
  quote: Quote | null;
  errors: VerdictIssue[];
  warnings: VerdictIssue[];
}

/** Cache sizes: bounded so that verifying millions of distinct quotes does not grow memory. */
export const CACHE_LIMITS = { pckChains: 1024, attestationKeys: 4096, certificates: 256 };

interface PckEntry {
  certs: Cert[]; // as in the quote, leaf first
  leaf: Cert;
  intermediate: Cert | null;
  ext: PckExtensions | null;
  parseIssue: VerdictIssue | null;
  /** Per anchor set: chain check result. */
  chain: Map<string, { issue: VerdictIssue | null; root: Cert | null }>;
  /** Per (collateral, anchors): CRL checks, TCB Info match and validity window. */
  links: Map<string, LinkResult>;
}

interface LinkResult {
  errors: VerdictIssue[];
  warnings: VerdictIssue[];
  revoked: boolean;
  platformStatus: string | null;
  tcbDate: string | null;
  platformAdvisoryIds: string[];
  /** Validity windows of everything that took part: label, notBefore, notAfter (ms). */
  windows: { label: string; code: string; from: number; to: number }[];
  earliestExpiry: number;
  latestStart: number;
}

interface CollateralCheck {
  errors: VerdictIssue[];
  warnings: VerdictIssue[];
  tcbSigning: Cert[];
  qeSigning: Cert[];
  rootCrl: Crl | null;
}

/** What a Verifier remembers between quotes; every entry is derived from its key alone. */
interface Caches {
  pck: LRUCache<string, PckEntry>;
  /**
   * Parsed certificates by their DER bytes: a fleet's PCK chains share their CA and root certificates, so a
   * platform seen for the first time costs the parse of its own PCK certificate only.
   */
  certs: LRUCache<string, { cert: Cert; ext?: PckExtensions }>;
  ak: LRUCache<string, KeyObject>;
  inputs: WeakMap<object, Collateral>;
  anchors: AnchorCache;
}

/**
 * Quote verification with its caches: parsed PCK chains (and their SGX extensions), attestation keys, trust
 * anchors and prepared collateral. The caller holds the object (the service keeps one for its lifetime), so
 * the module keeps no state and a verdict depends only on the quote, the collateral, the anchors and `now`.
 */
export class Verifier {
  private readonly caches: Caches;

  constructor(limits: Partial<typeof CACHE_LIMITS> = {}) {
    this.caches = {
      pck: new LRUCache({ max: limits.pckChains ?? CACHE_LIMITS.pckChains }),
      certs: new LRUCache({ max: limits.certificates ?? CACHE_LIMITS.certificates }),
      ak: new LRUCache({ max: limits.attestationKeys ?? CACHE_LIMITS.attestationKeys }),
      inputs: new WeakMap(),
      anchors: new Map(),
    };
  }

  verify(quote: Uint8Array | Quote, collateral: Collateral | CollateralInput, options: VerifyOptions): Verdict {
    return verifyWith(this.caches, quote, collateral, options);
  }

  /**
   * The PCK certificate's SGX extensions (FMSPC, PCE-ID, TCB components), from the same cache verification
   * uses: the collateral lookup and the verification of one quote read the certificate once. With
   * `trustAnchors`, the PCK chain must also lead to one of them (a ConfkubeError says why not).
   */
  pckExtensions(quote: Quote, trustAnchors?: readonly Uint8Array[]): PckExtensions {
    const cd = quote.certificationData;
    if (cd.type !== 5 || !cd.pckChain || cd.pckChain.length === 0) {
      throw new ConfkubeError('ERR_QUOTE_NO_PCK_CHAIN', `certification data type ${cd.type} carries no PCK certificate chain (type 5 expected)`);
    }
    const entry = pckEntry(this.caches, cd.data, cd.pckChain);
    if (entry.parseIssue) throw new ConfkubeError(entry.parseIssue.code, entry.parseIssue.message);
    if (trustAnchors) {
      const chain = chainCheck(entry, resolveAnchors(trustAnchors, this.caches.anchors));
      if (chain.issue) throw new ConfkubeError(chain.issue.code, chain.issue.message);
    }
    return entry.ext!;
  }

  cacheSizes(): { pckChains: number; attestationKeys: number; certificates: number } {
    return { pckChains: this.caches.pck.size, attestationKeys: this.caches.ak.size, certificates: this.caches.certs.size };
  }

  /** Forget everything (a process that rotates its trust anchors). */
  clear(): void {
    this.caches.pck.clear();
    this.caches.certs.clear();
    this.caches.ak.clear();
    this.caches.anchors.clear();
    this.caches.inputs = new WeakMap();
  }
}

function issue(code: string, message: string): VerdictIssue {
  return { code, message };
}

function emptyVerdict(): Verdict {
  return {
    ok: false,
    status: null,
    platformStatus: null,
    qeStatus: null,
    advisoryIds: [],
    platformAdvisoryIds: [],
    qeAdvisoryIds: [],
    tcbDate: null,
    qeTcbDate: null,
    tcbEvaluationDataNumber: null,
    tcbInfoVersion: null,
    collateralExpired: false,
    collateralExpiredReasons: [],
    earliestExpiry: null,
    latestIssue: null,
    debug: false,
    fmspc: null,
    pceId: null,
    pckCa: null,
    sgxType: null,
    report: null,
    qeReport: null,
    quote: null,
    errors: [],
    warnings: [],
  };
}

function nowMs(now: VerifyOptions['now']): number {
  if (now instanceof Date) return now.getTime();
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new ConfkubeError('ERR_VERIFY_TIME', `verification time ${String(now)} is neither a Date nor Unix seconds`);
  return now * 1000;
}

function toCollateral(caches: Caches, c: Collateral | CollateralInput): Collateral {
  if (isPrepared(c)) return c;
  let p = caches.inputs.get(c);
  if (!p) {
    p = prepareCollateral(c);
    caches.inputs.set(c, p);
  }
  return p;
}

/** Errors that still leave a meaningful TCB status (the quote is genuine; revocation or freshness is the issue). */
const STATUS_PRESERVING = new Set([
  'ERR_PCK_REVOKED',
  'ERR_CA_REVOKED',
  'ERR_TCB_SIGNING_REVOKED',
  'ERR_TCB_REVOKED',
  'ERR_CRL_MISSING',
  'ERR_COLLATERAL_EXPIRED',
  'ERR_CRL_EXPIRED',
  'ERR_CERT_EXPIRED',
  'ERR_COLLATERAL_NOT_YET_VALID',
]);

/**
 * Verify an SGX ECDSA quote against collateral with Intel QVL/QvE semantics (docs/dcap.md §Verification steps). Pure: the
 * collateral, the trust anchors and the time are arguments, and nothing is remembered between calls (a
 * `Verifier` keeps caches for callers that verify many quotes). Never throws for bad input: a quote or
 * collateral that cannot be read is a verdict with `ok: false` and a typed error.
 */
export function verifyQuote(quote: Uint8Array | Quote, collateral: Collateral | CollateralInput, options: VerifyOptions): Verdict {
  return new Verifier().verify(quote, collateral, options);
}

function verifyWith(caches: Caches, quoteBytes: Uint8Array | Quote, collateralIn: Collateral | CollateralInput, options: VerifyOptions): Verdict {
  const v = emptyVerdict();
  const now = nowMs(options.now);
  let quote: Quote;
  try {
    quote = quoteBytes instanceof Uint8Array ? parseQuote(quoteBytes) : quoteBytes;
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
    v.errors.push(issue(e.code, e.message));
    return v;
  }
  v.quote = quote;
  v.report = quote.report;
  v.qeReport = quote.qeReport;
  v.debug = quote.report?.attributes.debug ?? false;

  // 4.1.2.4.2: QE vendor and TEE
  if (toHex(quote.header.qeVendorId) !== INTEL_QE_VENDOR_ID) {
    v.errors.push(issue('ERR_QUOTE_VENDOR', `QE vendor ID ${toHex(quote.header.qeVendorId)} at offset 12 is not Intel's (${INTEL_QE_VENDOR_ID})`));
  }
  if (quote.header.teeType !== TEE_TYPE_SGX || !quote.report) {
    v.errors.push(issue('ERR_UNSUPPORTED_TEE', 'only SGX quotes are verified; this is a TDX quote'));
    return v;
  }
  const cd = quote.certificationData;
  if (cd.type !== 5 || !cd.pckChain) {
    v.errors.push(issue('ERR_QUOTE_NO_PCK_CHAIN', `certification data type ${cd.type} carries no PCK certificate chain; offline verification needs type 5 (or the PCK certificate from a PCCS)`));
    return v;
  }

  let collateral: Collateral;
  let anchors: Anchors;
  try {
    collateral = toCollateral(caches, collateralIn);
    anchors = resolveAnchors(options.trustAnchors, caches.anchors);
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
    v.errors.push(issue(e.code, e.message));
    return v;
  }
  v.tcbInfoVersion = collateral.tcbInfo.version;
  v.tcbEvaluationDataNumber = collateral.tcbInfo.tcbEvaluationDataNumber;

  // PCK chain (4.1.2.4.5), cached by the exact certification data bytes.
  const pck = pckEntry(caches, cd.data, cd.pckChain);
  if (pck.parseIssue) {
    v.errors.push(pck.parseIssue);
    return v;
  }
  const ext = pck.ext!;
  v.fmspc = toHex(ext.fmspc);
  v.pceId = toHex(ext.pceId);
  v.sgxType = ext.sgxType;
  v.pckCa = /Platform/i.test(pck.intermediate?.subjectCn ?? '') ? 'platform' : /Processor/i.test(pck.intermediate?.subjectCn ?? '') ? 'processor' : null;
  const chain = chainCheck(pck, anchors);
  if (chain.issue) v.errors.push(chain.issue);

  // Collateral signatures and CRLs (4.1.2.4.6–11), memoised per anchor set.
  const cc = collateralCheck(collateral, anchors);
  v.errors.push(...cc.errors);
  v.warnings.push(...cc.warnings);

  let link: LinkResult | null = null;
  if (!chain.issue) {
    link = linkCheck(pck, chain.root!, collateral, cc, anchors, options.allowMissingCrls === true);
    v.errors.push(...link.errors);
    v.warnings.push(...link.warnings);
  }

  // QE report signature by the PCK key (4.1.2.4.12).
  const qeSigOk = safeVerify(quote.qeReport.raw, pck.leaf.publicKey, quote.qeReportSignature);
  if (!qeSigOk) v.errors.push(issue('ERR_QE_REPORT_SIGNATURE', 'the QE report signature does not verify with the PCK certificate key'));

  // QE report data = SHA-256(attestation key ‖ QE auth data) ‖ zeros (4.1.2.4.13).
  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  if (!bytesEqual(binding, quote.qeReport.reportData.subarray(0, 32))) {
    v.errors.push(issue('ERR_QE_REPORT_DATA', 'QE report data is not SHA-256(attestation key ‖ QE auth data): the attestation key is not bound to this QE'));
  }

  // QE identity (4.1.2.9.5–10).
  const qeId = collateral.qeIdentity;
  const mismatch = qeIdentityMismatch(qeId, quote.qeReport);
  let qeStatus: string | null = null;
  if (mismatch) v.errors.push(issue('ERR_QE_IDENTITY_MISMATCH', `QE report does not match the QE Identity: ${mismatch}`));
  else {
    const lvl = matchQeLevel(qeId, quote.qeReport.isvSvn);
    if (!lvl) v.errors.push(issue('ERR_TCB_NOT_SUPPORTED', `QE ISVSVN ${quote.qeReport.isvSvn} is below every QE Identity TCB level`));
    else if (lvl.tcbStatus !== 'UpToDate' && lvl.tcbStatus !== 'OutOfDate' && lvl.tcbStatus !== 'Revoked') {
      v.errors.push(issue('ERR_TCB_UNRECOGNIZED_STATUS', `QE Identity level status "${lvl.tcbStatus}" is not recognised`));
    } else {
      qeStatus = lvl.tcbStatus;
      v.qeTcbDate = lvl.tcbDate;
      v.qeAdvisoryIds = lvl.advisoryIds;
    }
  }

  // Quote signature by the attestation key (4.1.2.4.16).
  const ak = attestationKey(caches, quote.attestationKey);
  if (!ak || !safeVerify(quote.signedData, ak, quote.quoteSignature)) {
    v.errors.push(issue('ERR_QUOTE_SIGNATURE', ak ? 'the quote signature does not verify with the attestation key' : 'the attestation key is not a point on P-256'));
  }

  // Platform TCB (4.1.2.4.17) and convergence with the QE status.
  if (link && link.platformStatus !== null) {
    if (!isTcbStatus(link.platformStatus)) v.errors.push(issue('ERR_TCB_UNRECOGNIZED_STATUS', `TCB level status "${link.platformStatus}" is not recognised`));
    else if (qeStatus !== null) {
      v.platformStatus = link.platformStatus;
      v.qeStatus = qeStatus as TcbStatus;
      v.status = link.revoked ? 'Revoked' : convergeTcbStatus(link.platformStatus, qeStatus as 'UpToDate' | 'OutOfDate' | 'Revoked');
      v.tcbDate = link.tcbDate;
      v.platformAdvisoryIds = link.platformAdvisoryIds;
      v.advisoryIds = [...new Set([...link.platformAdvisoryIds, ...v.qeAdvisoryIds])].sort();
      if (v.status === 'Revoked' && !link.revoked) v.errors.push(issue('ERR_TCB_REVOKED', `the ${link.platformStatus === 'Revoked' ? 'platform' : 'QE'} TCB level is Revoked`));
    }
  }

  // Collateral freshness (QvE: non-terminal unless strict).
  if (link) {
    v.earliestExpiry = new Date(link.earliestExpiry).toISOString();
    v.latestIssue = new Date(link.latestStart).toISOString();
    if (now >= link.earliestExpiry || now < link.latestStart) {
      v.collateralExpired = true;
      const at = new Date(now).toISOString();
      const into = options.strict ? v.errors : v.warnings;
      for (const w of link.windows) {
        let reason: string | null = null;
        if (now >= w.to) reason = `${w.label} expired at ${new Date(w.to).toISOString()}`;
        else if (now < w.from) reason = `${w.label} not valid before ${new Date(w.from).toISOString()}`;
        if (reason === null) continue;
        v.collateralExpiredReasons.push(reason);
        into.push(issue(now < w.from ? 'ERR_COLLATERAL_NOT_YET_VALID' : w.code, `${reason} (verification time ${at})`));
      }
    }
  }

  if (v.errors.length > 0 && !v.errors.every((e) => STATUS_PRESERVING.has(e.code))) {
    v.status = null;
    v.platformStatus = null;
    v.qeStatus = null;
  }
  v.ok = v.errors.length === 0;
  return v;
}

function safeVerify(data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

function attestationKey(caches: Caches, raw: Uint8Array): KeyObject | null {
  const k = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  const hit = caches.ak.get(k);
  if (hit) return hit;
  try {
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: Buffer.from(raw.subarray(0, 32)).toString('base64url'), y: Buffer.from(raw.subarray(32, 64)).toString('base64url') },
      format: 'jwk',
    });
    caches.ak.set(k, key);
    return key;
  } catch {
    return null;
  }
}

function pckEntry(caches: Caches, certData: Uint8Array, ders: Uint8Array[]): PckEntry {
  const key = Buffer.from(certData.buffer, certData.byteOffset, certData.byteLength).toString('latin1');
  const hit = caches.pck.get(key);
  if (hit) return hit;
  let entry: PckEntry;
  try {
    if (ders.length < 2) throw new ConfkubeError('ERR_PCK_CHAIN_INVALID', `PCK chain has ${ders.length} certificate(s); expected PCK, CA and root`);
    // Top down: the root (third) must sign itself, the CA (second) be signed by the root, the PCK certificate by
    // the CA. A certificate not yet seen is first checked against its signer's key (a native check) and only
    // then parsed in full, so a damaged or forged certificate costs a signature check, not a parse.
    const parsed: { cert: Cert; ext?: PckExtensions }[] = new Array(ders.length);
    for (let i = ders.length - 1; i >= 0; i--) {
      const signer = i === 2 ? 'self' : i < 2 && parsed[i + 1] ? parsed[i + 1].cert : null;
      parsed[i] = parsedCert(caches, ders[i], i, signer);
    }
    const certs = parsed.map((p) => p.cert);
    let ext: PckExtensions;
    try {
      ext = parsed[0].ext ??= parsePckExtensions(certs[0].parsed);
    } catch (e) {
      throw new ConfkubeError('ERR_PCK_CHAIN_INVALID', `PCK certificate: ${(e as Error).message}`);
    }
    entry = { certs, leaf: certs[0], intermediate: certs[1], ext, parseIssue: null, chain: new Map(), links: new Map() };
  } catch (e) {
    const dummy = { certs: [], leaf: null as unknown as Cert, intermediate: null, ext: null, chain: new Map(), links: new Map() };
    entry = { ...dummy, parseIssue: issue('ERR_PCK_CHAIN_INVALID', (e as Error).message) };
  }
  caches.pck.set(key, entry);
  return entry;
}

/**
 * Certificate I of a PCK chain, parsed once per Verifier (a certificate that fails is not kept). When it is
 * new and SIGNER is known, its signature is checked first: one that does not verify is refused unparsed, as
 * `chainCheck` would refuse it.
 */
function parsedCert(caches: Caches, der: Uint8Array, i: number, signer: Cert | 'self' | null): { cert: Cert; ext?: PckExtensions } {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  const hit = caches.certs.get(key);
  if (hit) return hit;
  const what = `PCK chain certificate ${i + 1}`;
  if (signer !== null) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(der);
    } catch (e) {
      throw new ConfkubeError('ERR_PCK_CHAIN_INVALID', `${what}: not a valid X.509 certificate (${(e as Error).message})`);
    }
    if (!signedBy(x509, signer === 'self' ? x509.publicKey : signer.publicKey)) {
      const whose = i === 0 ? 'the PCK certificate' : what;
      throw new ConfkubeError('ERR_PCK_CHAIN_INVALID', signer === 'self' ? `${whose} is not a valid self-signed root` : `${whose} is not signed by "${signer.subjectCn}"`);
    }
  }
  const entry = { cert: parseCert(der, what) };
  caches.certs.set(key, entry);
  return entry;
}

function signedBy(x509: X509Certificate, key: KeyObject): boolean {
  try {
    return x509.verify(key);
  } catch {
    return false;
  }
}

/** Leaf ← intermediate ← root, the root a trust anchor (Intel compares the root; QvE pins its key). */
function chainCheck(pck: PckEntry, anchors: Anchors): { issue: VerdictIssue | null; root: Cert | null } {
  const hit = pck.chain.get(anchors.key);
  if (hit) return hit;
  const [leaf, inter, ...rest] = pck.certs;
  let result: { issue: VerdictIssue | null; root: Cert | null };
  if (!inter.x509.ca) result = { issue: issue('ERR_PCK_CHAIN_INVALID', `"${inter.subjectCn}" is not a CA certificate`), root: null };
  else if (!issuedBy(leaf, inter)) {
    result = { issue: issue('ERR_PCK_CHAIN_INVALID', `the PCK certificate is not signed by "${inter.subjectCn}"`), root: null };
  } else {
    const quoteRoot = rest[0];
    if (quoteRoot) {
      if (!issuedBy(inter, quoteRoot)) result = { issue: issue('ERR_PCK_CHAIN_INVALID', `"${inter.subjectCn}" is not signed by "${quoteRoot.subjectCn}"`), root: null };
      else if (!issuedBy(quoteRoot, quoteRoot)) result = { issue: issue('ERR_PCK_CHAIN_INVALID', `"${quoteRoot.subjectCn}" is not a valid self-signed root`), root: null };
      else if (!asAnchor(quoteRoot, anchors)) {
        result = { issue: issue('ERR_UNTRUSTED_ROOT', `the PCK chain ends in "${quoteRoot.subjectCn}", which is not a trust anchor (trusted: ${anchorNames(anchors)})`), root: null };
      } else result = { issue: null, root: asAnchor(quoteRoot, anchors)! };
    } else {
      const r = chainToAnchor(inter, [], anchors, 0);
      result = r.ok ? { issue: null, root: r.chain[r.chain.length - 1] } : { issue: issue(r.code === 'ERR_UNTRUSTED_ROOT' ? r.code : 'ERR_PCK_CHAIN_INVALID', `PCK chain: ${r.message}`), root: null };
    }
  }
  if (pck.chain.size >= 8) pck.chain.clear();
  pck.chain.set(anchors.key, result);
  return result;
}

/** Signing chains of TCB Info and QE Identity, and the root CA CRL: once per (collateral, anchors). */
function collateralCheck(c: Collateral, anchors: Anchors): CollateralCheck {
  const memoKey = `check:${anchors.key}`;
  const hit = c.memo.get(memoKey) as CollateralCheck | undefined;
  if (hit) return hit;
  const errors: VerdictIssue[] = [];
  const warnings: VerdictIssue[] = [];
  const pool = [...c.pool, ...anchors.certs];
  const signedBy = (what: string, json: { signed: Uint8Array; signature: Uint8Array }, preferred: Cert[], sigCode: string): Cert[] => {
    const candidates = preferred.length > 0 ? [preferred[0]] : pool;
    const signer = candidates.find((cert) => safeVerify(json.signed, cert.publicKey, json.signature));
    if (!signer) {
      errors.push(issue(sigCode, `${what} signature does not verify with ${preferred.length > 0 ? `"${preferred[0].subjectCn}"` : 'any certificate in the collateral'}`));
      return [];
    }
    const r = chainToAnchor(signer, pool, anchors);
    if (!r.ok) {
      errors.push(issue(r.code === 'ERR_UNTRUSTED_ROOT' ? 'ERR_UNTRUSTED_ROOT' : 'ERR_TCB_SIGNING_CHAIN_INVALID', `${what} signer: ${r.message}`));
      return [];
    }
    return r.chain;
  };
  const tcbSigning = signedBy('TCB Info', c.tcbInfoJson, c.tcbInfoChain, 'ERR_TCB_INFO_SIGNATURE');
  const qeSigning = signedBy('QE Identity', c.qeIdentityJson, c.qeIdentityChain, 'ERR_QE_IDENTITY_SIGNATURE');
  let rootCrl: Crl | null = null;
  if (!c.rootCaCrl) {
    // Reported with the PCK CRL check, where allowMissingCrls decides between error and warning.
  } else {
    const signer = anchors.certs.find((a) => crlSignedBy(c.rootCaCrl!, a));
    if (!signer) errors.push(issue('ERR_CRL_INVALID', `the root CA CRL (issuer "${c.rootCaCrl.issuerCn}") is not signed by a trust anchor`));
    else {
      rootCrl = c.rootCaCrl;
      for (const s of [...tcbSigning, ...qeSigning]) {
        if (s !== signer && rootCrl.revoked.has(s.serial)) {
          errors.push(issue('ERR_TCB_SIGNING_REVOKED', `"${s.subjectCn}" (serial ${s.serial}) is revoked by the root CA CRL`));
        }
      }
    }
  }
  const result = { errors: dedupe(errors), warnings, tcbSigning, qeSigning, rootCrl };
  c.memo.set(memoKey, result);
  return result;
}

function dedupe(issues: VerdictIssue[]): VerdictIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => (seen.has(i.code + i.message) ? false : (seen.add(i.code + i.message), true)));
}

/** What ties this PCK to this collateral: CRLs, FMSPC/PCE-ID, the platform TCB level, validity windows. */
function linkCheck(pck: PckEntry, root: Cert, c: Collateral, cc: CollateralCheck, anchors: Anchors, allowMissingCrls: boolean): LinkResult {
  const key = `${c.id}:${anchors.key}:${allowMissingCrls ? 1 : 0}`;
  const hit = pck.links.get(key);
  if (hit) return hit;
  const errors: VerdictIssue[] = [];
  const warnings: VerdictIssue[] = [];
  const missing = (m: string) => (allowMissingCrls ? warnings : errors).push(issue('ERR_CRL_MISSING', m));
  const leaf = pck.leaf;
  const inter = pck.intermediate!;
  const ext = pck.ext!;
  let revoked = false;
  // PCK CRL: the one whose issuer is the PCK certificate's issuer (4.1.2.4.6).
  let pckCrl: Crl | null = null;
  if (c.pckCrls.length === 0) missing(`no PCK CRL for "${inter.subjectCn}" in the collateral: PCK revocation not checked`);
  else {
    pckCrl = c.pckCrls.find((crl) => bytesEqual(crl.issuerDer, leaf.issuerDer)) ?? null;
    if (!pckCrl) {
      errors.push(issue('ERR_PCK_CRL_ISSUER', `no PCK CRL issued by "${inter.subjectCn}": the collateral has CRLs of ${c.pckCrls.map((x) => `"${x.issuerCn}"`).join(', ')}`));
    } else if (!crlSignedBy(pckCrl, inter)) {
      errors.push(issue('ERR_CRL_INVALID', `the PCK CRL of "${inter.subjectCn}" is not signed by that CA`));
      pckCrl = null;
    } else if (pckCrl.revoked.has(leaf.serial)) {
      errors.push(issue('ERR_PCK_REVOKED', `the PCK certificate (serial ${leaf.serial}) is revoked by the "${inter.subjectCn}" CRL`));
      revoked = true;
    }
  }
  if (!c.rootCaCrl) missing('no root CA CRL in the collateral: revocation of the PCK CA and TCB Signing certificates not checked');
  else if (cc.rootCrl && cc.rootCrl.revoked.has(inter.serial)) {
    errors.push(issue('ERR_CA_REVOKED', `"${inter.subjectCn}" (serial ${inter.serial}) is revoked by the root CA CRL`));
    revoked = true;
  }
  // TCB Info belongs to this platform (4.1.2.4.9–10).
  const info = c.tcbInfo;
  const fmspc = toHex(ext.fmspc);
  const pceId = toHex(ext.pceId);
  let platformStatus: string | null = null;
  let tcbDate: string | null = null;
  let platformAdvisoryIds: string[] = [];
  if (info.fmspc !== fmspc) errors.push(issue('ERR_TCB_INFO_MISMATCH', `TCB Info is for FMSPC ${info.fmspc}, the PCK certificate says ${fmspc}`));
  else if (info.pceId !== pceId) errors.push(issue('ERR_TCB_INFO_MISMATCH', `TCB Info is for PCE-ID ${info.pceId}, the PCK certificate says ${pceId}`));
  else {
    const lvl = matchTcbLevel(info, ext.tcbComponents, ext.pceSvn);
    if (!lvl) {
      errors.push(issue('ERR_TCB_NOT_SUPPORTED', `no TCB level matches components [${ext.tcbComponents.join(',')}] PCESVN ${ext.pceSvn}`));
    } else {
      platformStatus = lvl.tcbStatus;
      tcbDate = lvl.tcbDate;
      platformAdvisoryIds = lvl.advisoryIds;
    }
  }
  // QvE earliest_expiration and the not-before side of every window (TCB Info issueDate is not checked, as Intel).
  const windows: LinkResult['windows'] = [];
  const cert = (label: string, x: Cert) => windows.push({ label: `${label} "${x.subjectCn}"`, code: 'ERR_CERT_EXPIRED', from: x.notBefore, to: x.notAfter });
  pck.certs.forEach((x, i) => cert(i === 0 ? 'PCK certificate' : 'PCK chain certificate', x));
  if (!pck.certs.includes(root) && !pck.certs.some((x) => bytesEqual(x.der, root.der))) cert('root certificate', root);
  for (const x of cc.tcbSigning) cert('TCB Info signing chain certificate', x);
  for (const x of cc.qeSigning) cert('QE Identity signing chain certificate', x);
  if (pckCrl) windows.push({ label: `PCK CRL of "${pckCrl.issuerCn}"`, code: 'ERR_CRL_EXPIRED', from: pckCrl.thisUpdate, to: pckCrl.nextUpdate ?? Infinity });
  if (cc.rootCrl) windows.push({ label: 'root CA CRL', code: 'ERR_CRL_EXPIRED', from: cc.rootCrl.thisUpdate, to: cc.rootCrl.nextUpdate ?? Infinity });
  windows.push({ label: 'TCB Info', code: 'ERR_COLLATERAL_EXPIRED', from: -Infinity, to: info.nextUpdate });
  windows.push({ label: 'QE Identity', code: 'ERR_COLLATERAL_EXPIRED', from: -Infinity, to: c.qeIdentity.nextUpdate });
  const result: LinkResult = {
    errors,
    warnings,
    revoked,
    platformStatus,
    tcbDate,
    platformAdvisoryIds,
    windows,
    earliestExpiry: Math.min(...windows.map((w) => w.to)),
    latestStart: Math.max(...windows.map((w) => w.from)),
  };
  if (pck.links.size >= 8) pck.links.clear();
  pck.links.set(key, result);
  return result;
}
