import { createHash, randomBytes } from 'node:crypto';
import type { CollateralInput } from '../dcap/collateral.js';
import type { TcbStatus } from '../dcap/tcb-info.js';
import { toHex } from '../lib/bytes.js';
import { buildCertificate, toPem, type SimName } from './certificate.js';
import { buildCrl } from './crl.js';
import { SimInputError } from './errors.js';
import { derive, deriveKey, type SimKey } from './keys.js';
import { sgxExtension } from './pck-extension.js';
import { qeIdentityBody } from './qe-identity.js';
import { buildQuote, signQeReport } from './quote.js';
import { encodeReportBody, type ReportFields } from './report.js';
import { converge, levelFor, type SimTcbLevel, SIM_QE_LEVELS, SIM_QE_SVN_OUT_OF_DATE, SIM_QE_SVN_UP_TO_DATE, SIM_TCB_LEVELS, SIM_TCB_STATUSES } from './scenarios.js';
import { tcbInfoBody } from './tcb-info.js';

/**
 * The simulated root's subject CN. It must never be mistaken for Intel's "Intel SGX Root CA": it says what it
 * is, while still containing "SGX Root CA" as Intel QVL requires of a PCK chain root (docs/sim.md §PKI).
 */
export const SIM_ROOT_SUBJECT_CN = 'confkube simulated SGX Root CA - NOT INTEL, NOT FOR PRODUCTION';

const ORG = 'confkube simulation - not Intel';
const name = (cn: string): SimName => ({ cn, o: ORG, l: 'Simulated', st: 'SIM', c: 'ZZ' });
export const SIM_NAMES = {
  root: name(SIM_ROOT_SUBJECT_CN),
  processorCa: name('confkube simulated SGX PCK Processor CA'),
  platformCa: name('confkube simulated SGX PCK Platform CA'),
  pck: name('confkube simulated SGX PCK Certificate'),
  tcbSigning: name('confkube simulated SGX TCB Signing'),
} as const;

/** Where the simulated PKI says its CRLs are: `.invalid` (RFC 2606), so nothing ever fetches them. */
const CRL_BASE = 'https://sgx-sim.confkube.invalid';
const ROOT_CRL_URL = `${CRL_BASE}/SimulatedSGXRootCA.der`;
const pckCrlUrl = (ca: 'processor' | 'platform') => `${CRL_BASE}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`;

/** FMSPC and PCE-ID of the simulated platform (PCE-ID 0 as on every Intel platform). */
export const SIM_FMSPC = '00c0ffee0000';
export const SIM_PCE_ID = '0000';
export const SIM_TCB_EVALUATION_DATA_NUMBER = 17;
/** The simulated QE's identity: its own MRSIGNER and MRENCLAVE, not Intel's. */
export const SIM_QE_MRSIGNER = toHex(createHash('sha256').update('confkube simulated Quoting Enclave signer').digest());
export const SIM_QE_MRENCLAVE = toHex(createHash('sha256').update('confkube simulated Quoting Enclave').digest());
/** QE3 auth data as Intel's QE writes it: the bytes 0x00..0x1f. */
const QE_AUTH_DATA = Uint8Array.from({ length: 32 }, (_, i) => i);

export interface SimPlatformOptions {
  /** Every key, serial and identifier derives from it. Default: 16 random bytes (hex). */
  seed?: string;
  /** The quote's TCB status. Revoked: the PCK certificate is on its CA's CRL. Default UpToDate. */
  status?: TcbStatus;
  /** The QE's ISVSVN is below the QE Identity's UpToDate level. */
  qeOutOfDate?: boolean;
  /** TCB Info, QE Identity and CRLs valid at `collateralIssuedAt`, expired before it, or issued after it. */
  collateral?: 'valid' | 'expired' | 'not-yet-valid';
  /** Reference time of the certificates (and of the collateral, by default). Default: the start of the current UTC day. */
  issuedAt?: Date;
  /**
   * When TCB Info, QE Identity and CRLs are issued (valid 30 days), default `issuedAt`. Moving it re-issues the
   * collateral while every key and certificate, the root included, stays byte-identical (see `reissue`).
   */
  collateralIssuedAt?: Date;
  tcbInfoVersion?: 2 | 3;
  /** Which PCK CA issues the PCK certificate. Default processor. */
  caType?: 'processor' | 'platform';
}

export type ResolvedSimOptions = Required<SimPlatformOptions>;

/** What a quote may set; absent fields take the platform's values (CPUSVN) or zero. */
export interface SimQuoteRequest extends Omit<ReportFields, 'attributes'> {
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  /** Sets or clears ATTRIBUTES.DEBUG (on top of `attributes`). */
  debug?: boolean;
  /** Default: flags INIT|MODE64BIT, XFRM x87|SSE. */
  attributes?: { flags: bigint; xfrm: bigint };
  version?: 3 | 4;
}

/** What a conforming verifier (Intel QVL/QvE semantics) reports for a quote of this platform. */
export interface SimExpected {
  status: TcbStatus;
  platformStatus: TcbStatus;
  qeStatus: 'UpToDate' | 'OutOfDate';
  /** Sorted, unique union of platform and QE level advisories (Intel QVS). */
  advisoryIds: string[];
  platformAdvisoryIds: string[];
  qeAdvisoryIds: string[];
  tcbDate: string;
  collateralExpired: boolean;
  /** The PCK certificate is on the PCK CRL. */
  pckRevoked: boolean;
  fmspc: string;
  pceId: string;
  pckCa: 'processor' | 'platform';
  /** A time at which the collateral is exactly as the scenario says (collateralIssuedAt + 1 hour). */
  verificationTime: Date;
}

export interface SimCertificates {
  root: Uint8Array;
  processorCa: Uint8Array;
  platformCa: Uint8Array;
  pck: Uint8Array;
  tcbSigning: Uint8Array;
}

export interface SimCollateral {
  tcbInfo: Uint8Array;
  qeIdentity: Uint8Array;
  /** TCB Signing certificate then root, PEM (the TCB-Info-Issuer-Chain header, URL-decoded). */
  tcbSigningChainPem: string;
  rootCaCrl: Uint8Array;
  pckProcessorCrl: Uint8Array;
  pckPlatformCrl: Uint8Array;
}

export interface SimPlatform {
  options: ResolvedSimOptions;
  rootCertDer: Uint8Array;
  rootCertPem: string;
  certificates: SimCertificates;
  /** PEM chain carried in quotes: PCK certificate, PCK CA, root. */
  pckChainPem: string;
  collateral: SimCollateral;
  /** Private keys (hex), by role: what `platform.json` records. */
  keys: Record<string, string>;
  /** A collateral directory's files (the layout `confkube quote verify --collateral` reads). */
  collateralFiles(): { name: string; data: Uint8Array }[];
  /** The collateral as `verifyQuote` takes it. */
  collateralInput(): CollateralInput;
  /** The collateral in dcap-qvl `QuoteCollateralV3` JSON form (also read by `collateralFromBundle`). */
  bundle(): Record<string, string>;
  quote(r: SimQuoteRequest): Uint8Array;
  expected: SimExpected;
  /** The same platform (keys, certificates, root) with its collateral issued at `at` (default: the start of the current UTC day). */
  reissue(at?: Date): SimPlatform;
  /** A PCK certificate for every TCB level of the simulated FMSPC (the platform's own is `certificates.pck`). */
  pckCertificates(): SimPckCertificate[];
  /**
   * What the platform's quote provider library registers (POST /platforms): QE-ID, PCE-ID, raw CPUSVN and PCESVN
   * (Base16, PCESVN little-endian) and an encrypted PPID derived from the seed (docs/sim.md §PCK certificates).
   */
  registration: { qe_id: string; pce_id: string; cpu_svn: string; pce_svn: string; enc_ppid: string; platform_manifest: string };
}

export interface SimPckCertificate {
  level: SimTcbLevel;
  /** CPUSVN ‖ PCESVN (little-endian), upper-case Base16, as PCS writes it. */
  tcbm: string;
  der: Uint8Array;
}

const DAY = 86_400_000;

function startOfUtcDay(d: Date): Date {
  return new Date(Math.floor(d.getTime() / DAY) * DAY);
}

function addDays(d: Date, n: number): Date {
  return new Date(d.getTime() + n * DAY);
}

function addYears(d: Date, n: number): Date {
  const r = new Date(d.getTime());
  r.setUTCFullYear(r.getUTCFullYear() + n);
  return r;
}

/** A positive 20-byte serial, as Intel's, with a non-zero first byte so its length never varies. */
function serial(seed: string, label: string): Uint8Array {
  const b = derive(seed, `serial:${label}`, 20);
  b[0] = (b[0] & 0x3f) | 0x40;
  return b;
}

export function resolveOptions(opts: SimPlatformOptions = {}): ResolvedSimOptions {
  const status = opts.status ?? 'UpToDate';
  if (!SIM_TCB_STATUSES.includes(status)) throw new SimInputError(`status: expected one of ${SIM_TCB_STATUSES.join(', ')}, got ${JSON.stringify(status)}`);
  const collateral = opts.collateral ?? 'valid';
  if (!['valid', 'expired', 'not-yet-valid'].includes(collateral)) throw new SimInputError(`collateral: expected valid, expired or not-yet-valid, got ${JSON.stringify(collateral)}`);
  const tcbInfoVersion = opts.tcbInfoVersion ?? 3;
  if (tcbInfoVersion !== 2 && tcbInfoVersion !== 3) throw new SimInputError(`tcbInfoVersion: expected 2 or 3, got ${JSON.stringify(tcbInfoVersion)}`);
  const caType = opts.caType ?? 'processor';
  if (caType !== 'processor' && caType !== 'platform') throw new SimInputError(`caType: expected processor or platform, got ${JSON.stringify(caType)}`);
  const issuedAt = opts.issuedAt ?? startOfUtcDay(new Date());
  if (!(issuedAt instanceof Date) || Number.isNaN(issuedAt.getTime())) throw new SimInputError('issuedAt: not a valid date');
  const collateralIssuedAt = opts.collateralIssuedAt ?? issuedAt;
  if (!(collateralIssuedAt instanceof Date) || Number.isNaN(collateralIssuedAt.getTime())) throw new SimInputError('collateralIssuedAt: not a valid date');
  const seed = opts.seed ?? randomBytes(16).toString('hex');
  if (typeof seed !== 'string' || seed.length === 0) throw new SimInputError('seed: expected a non-empty string');
  return {
    seed,
    status,
    qeOutOfDate: opts.qeOutOfDate === true,
    collateral,
    // Whole seconds: certificates and PCS JSON carry no fractions, and a reloaded platform must be identical.
    issuedAt: new Date(Math.floor(issuedAt.getTime() / 1000) * 1000),
    collateralIssuedAt: new Date(Math.floor(collateralIssuedAt.getTime() / 1000) * 1000),
    tcbInfoVersion,
    caType,
  };
}

/** Build a simulated SGX platform. Same options (seed and issuedAt included) → the same keys and bytes. */
export function createPlatform(opts: SimPlatformOptions = {}): SimPlatform {
  const o = resolveOptions(opts);
  const seed = o.seed;
  const base = o.issuedAt;
  const key = (label: string): SimKey => deriveKey(seed, label);
  const k = {
    root: key('root'),
    processorCa: key('pck-processor-ca'),
    platformCa: key('pck-platform-ca'),
    pck: key('pck'),
    tcbSigning: key('tcb-signing'),
    attestation: key('qe-attestation'),
  };
  const certFrom = addDays(base, -90);

  // Certificates (Intel SGX PCK Certificate and CRL Profile: root pathlen 1, PCK CAs pathlen 0).
  const root = buildCertificate({
    serial: serial(seed, 'root'),
    issuer: SIM_NAMES.root,
    issuerKey: k.root,
    subject: SIM_NAMES.root,
    subjectKey: k.root,
    notBefore: certFrom,
    notAfter: addYears(base, 25),
    caPathLen: 1,
    crlDistributionPoint: ROOT_CRL_URL,
  });
  const ca = (which: 'processor' | 'platform') =>
    buildCertificate({
      serial: serial(seed, `pck-${which}-ca`),
      issuer: SIM_NAMES.root,
      issuerKey: k.root,
      subject: which === 'processor' ? SIM_NAMES.processorCa : SIM_NAMES.platformCa,
      subjectKey: which === 'processor' ? k.processorCa : k.platformCa,
      notBefore: certFrom,
      notAfter: addYears(base, 15),
      caPathLen: 0,
      crlDistributionPoint: ROOT_CRL_URL,
    });
  const processorCa = ca('processor');
  const platformCa = ca('platform');
  const tcbSigning = buildCertificate({
    serial: serial(seed, 'tcb-signing'),
    issuer: SIM_NAMES.root,
    issuerKey: k.root,
    subject: SIM_NAMES.tcbSigning,
    subjectKey: k.tcbSigning,
    notBefore: certFrom,
    notAfter: addYears(base, 7),
    crlDistributionPoint: ROOT_CRL_URL,
  });

  const level = levelFor(o.status);
  const cpuSvn = Uint8Array.from(level.components); // tcbType 0: CPUSVN bytes are the 16 components
  const fmspc = Uint8Array.from(Buffer.from(SIM_FMSPC, 'hex'));
  const pceId = Uint8Array.from(Buffer.from(SIM_PCE_ID, 'hex'));
  const platformCaType = o.caType === 'platform';
  // One PCK certificate per TCB level, as Intel's PCS issues them (docs/sim.md §PCK certificates): the platform's own
  // level keeps the key its QE report is signed with; the others have keys of their own.
  const pckFor = (l: SimTcbLevel, label: string): { der: Uint8Array; serial: Uint8Array } => {
    const pckSerial = serial(seed, label);
    const der = buildCertificate({
      serial: pckSerial,
      issuer: platformCaType ? SIM_NAMES.platformCa : SIM_NAMES.processorCa,
      issuerKey: platformCaType ? k.platformCa : k.processorCa,
      subject: SIM_NAMES.pck,
      subjectKey: label === 'pck' ? k.pck : key(label),
      notBefore: certFrom,
      notAfter: addYears(base, 7),
      crlDistributionPoint: pckCrlUrl(o.caType),
      extra: [
        sgxExtension({
          ppid: derive(seed, 'ppid', 16),
          tcbComponents: l.components,
          pceSvn: l.pceSvn,
          cpuSvn: Uint8Array.from(l.components),
          pceId,
          fmspc,
          sgxType: 0,
          ...(platformCaType ? { platform: { instanceId: derive(seed, 'platform-instance-id', 16), dynamicPlatform: true, cachedKeys: true, smtEnabled: true } } : {}),
        }),
      ],
    });
    return { der, serial: pckSerial };
  };
  const { der: pck, serial: pckSerial } = pckFor(level, 'pck');
  const tcbm = (l: SimTcbLevel): string => toHex(Uint8Array.of(...l.components, l.pceSvn & 0xff, l.pceSvn >> 8)).toUpperCase();
  const pckCertificates = (): SimPckCertificate[] => SIM_TCB_LEVELS.map((l) => ({ level: l, tcbm: tcbm(l), der: l === level ? pck : pckFor(l, `pck:${tcbm(l)}`).der }));

  // Collateral windows (QvE earliest expiration, docs/sim.md §Collateral windows): valid from collateralIssuedAt for 30
  // days (as PCS TCB Info), expired the day before, or first valid two days after.
  const cbase = o.collateralIssuedAt;
  const [issue, next] =
    o.collateral === 'expired' ? [addDays(cbase, -31), addDays(cbase, -1)] : o.collateral === 'not-yet-valid' ? [addDays(cbase, 2), addDays(cbase, 32)] : [cbase, addDays(cbase, 30)];
  const rootCrlNext = o.collateral === 'valid' ? addDays(cbase, 365) : next;
  const decoys = [serial(seed, 'revoked-1'), serial(seed, 'revoked-2')];
  const pckCrl = (which: 'processor' | 'platform') =>
    buildCrl({
      issuer: which === 'processor' ? SIM_NAMES.processorCa : SIM_NAMES.platformCa,
      issuerKey: which === 'processor' ? k.processorCa : k.platformCa,
      thisUpdate: issue,
      nextUpdate: next,
      crlNumber: 1,
      revoked: o.status === 'Revoked' && which === o.caType ? [...decoys, pckSerial] : decoys,
    });
  const collateral: SimCollateral = {
    tcbInfo: tcbInfoBody(
      { version: o.tcbInfoVersion, issueDate: issue, nextUpdate: next, fmspc, pceId, tcbEvaluationDataNumber: SIM_TCB_EVALUATION_DATA_NUMBER, levels: SIM_TCB_LEVELS },
      k.tcbSigning,
    ),
    qeIdentity: qeIdentityBody(
      {
        issueDate: issue,
        nextUpdate: next,
        tcbEvaluationDataNumber: SIM_TCB_EVALUATION_DATA_NUMBER,
        mrSigner: Uint8Array.from(Buffer.from(SIM_QE_MRSIGNER, 'hex')),
        isvProdId: 1,
        levels: SIM_QE_LEVELS,
      },
      k.tcbSigning,
    ),
    tcbSigningChainPem: toPem(tcbSigning) + toPem(root),
    rootCaCrl: buildCrl({ issuer: SIM_NAMES.root, issuerKey: k.root, thisUpdate: issue, nextUpdate: rootCrlNext, crlNumber: 1, revoked: [] }),
    pckProcessorCrl: pckCrl('processor'),
    pckPlatformCrl: pckCrl('platform'),
  };

  const pckCaDer = platformCaType ? platformCa : processorCa;
  const pckChainPem = toPem(pck) + toPem(pckCaDer) + toPem(root);
  const pckChainBytes = new TextEncoder().encode(`${pckChainPem}\0`); // Intel's QE NUL-terminates the chain

  const qeSvn = o.qeOutOfDate ? SIM_QE_SVN_OUT_OF_DATE : SIM_QE_SVN_UP_TO_DATE;
  const qeLevel = SIM_QE_LEVELS.find((l) => l.isvSvn === qeSvn)!;
  const qeReportBody = encodeReportBody({
    cpuSvn,
    miscSelect: 0,
    // INIT | MODE64BIT | PROVISIONKEY, XFRM x87|SSE|AVX|opmask|ZMM: what Intel's QE3 runs with.
    attributes: { flags: 0x15n, xfrm: 0xe7n },
    mrEnclave: Uint8Array.from(Buffer.from(SIM_QE_MRENCLAVE, 'hex')),
    mrSigner: Uint8Array.from(Buffer.from(SIM_QE_MRSIGNER, 'hex')),
    isvProdId: 1,
    isvSvn: qeSvn,
  });
  const qe = signQeReport(qeReportBody, k.attestation, QE_AUTH_DATA, k.pck);
  const userData = new Uint8Array(20);
  const qeId = derive(seed, 'qe-id', 16);
  userData.set(qeId, 0);

  const platformAdvisoryIds = o.tcbInfoVersion === 3 ? [...level.advisoryIds] : [];
  const qeStatus = qeLevel.tcbStatus as 'UpToDate' | 'OutOfDate';
  const expected: SimExpected = {
    status: o.status === 'Revoked' ? 'Revoked' : converge(level.tcbStatus, qeStatus),
    platformStatus: level.tcbStatus,
    qeStatus,
    advisoryIds: [...new Set([...platformAdvisoryIds, ...qeLevel.advisoryIds])].sort(),
    platformAdvisoryIds,
    qeAdvisoryIds: [...qeLevel.advisoryIds],
    tcbDate: level.tcbDate,
    collateralExpired: o.collateral !== 'valid',
    pckRevoked: o.status === 'Revoked',
    fmspc: SIM_FMSPC,
    pceId: SIM_PCE_ID,
    pckCa: o.caType,
    verificationTime: new Date(cbase.getTime() + 3_600_000),
  };

  const certificates: SimCertificates = { root, processorCa, platformCa, pck, tcbSigning };
  const keys: Record<string, string> = {};
  for (const [role, sk] of Object.entries(k)) keys[role] = toHex(sk.privateKey);

  return {
    options: o,
    rootCertDer: root,
    rootCertPem: toPem(root),
    certificates,
    pckChainPem,
    collateral,
    keys,
    expected,
    pckCertificates,
    registration: {
      qe_id: toHex(qeId).toUpperCase(),
      pce_id: SIM_PCE_ID.toUpperCase(),
      cpu_svn: toHex(cpuSvn).toUpperCase(),
      pce_svn: toHex(Uint8Array.of(level.pceSvn & 0xff, level.pceSvn >> 8)).toUpperCase(),
      enc_ppid: toHex(derive(seed, 'encrypted-ppid', 384)).toUpperCase(),
      platform_manifest: '',
    },
    collateralFiles: () => [
      { name: 'tcb_info.json', data: collateral.tcbInfo },
      { name: 'qe_identity.json', data: collateral.qeIdentity },
      { name: 'tcb_signing.pem', data: new TextEncoder().encode(collateral.tcbSigningChainPem) },
      { name: 'root_ca_crl.der', data: collateral.rootCaCrl },
      { name: 'pck_processor_crl.der', data: collateral.pckProcessorCrl },
      { name: 'pck_platform_crl.der', data: collateral.pckPlatformCrl },
    ],
    collateralInput: () => ({
      tcbInfo: collateral.tcbInfo,
      qeIdentity: collateral.qeIdentity,
      tcbInfoIssuerChain: collateral.tcbSigningChainPem,
      qeIdentityIssuerChain: collateral.tcbSigningChainPem,
      pckCrls: [collateral.pckProcessorCrl, collateral.pckPlatformCrl],
      pckCrlIssuerChain: toPem(processorCa) + toPem(platformCa) + toPem(root),
      rootCaCrl: collateral.rootCaCrl,
    }),
    bundle: () => {
      const inner = (body: Uint8Array, key: string) => {
        const v = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
        return { text: JSON.stringify(v[key]), sig: v.signature as string };
      };
      const t = inner(collateral.tcbInfo, 'tcbInfo');
      const q = inner(collateral.qeIdentity, 'enclaveIdentity');
      return {
        pck_crl_issuer_chain: toPem(pckCaDer) + toPem(root),
        root_ca_crl: toHex(collateral.rootCaCrl),
        pck_crl: toHex(platformCaType ? collateral.pckPlatformCrl : collateral.pckProcessorCrl),
        tcb_info_issuer_chain: collateral.tcbSigningChainPem,
        tcb_info: t.text,
        tcb_info_signature: t.sig,
        qe_identity_issuer_chain: collateral.tcbSigningChainPem,
        qe_identity: q.text,
        qe_identity_signature: q.sig,
      };
    },
    reissue: (at?: Date) => createPlatform({ ...o, collateralIssuedAt: at ?? startOfUtcDay(new Date()) }),
    quote: (r: SimQuoteRequest) => {
      if (!(r.mrEnclave instanceof Uint8Array) || !(r.mrSigner instanceof Uint8Array)) throw new SimInputError('quote: mrEnclave and mrSigner are required (32 bytes each)');
      const version = r.version ?? 3;
      if (version !== 3 && version !== 4) throw new SimInputError(`quote version: expected 3 or 4, got ${JSON.stringify(version)}`);
      const attrs = r.attributes ?? { flags: 0x05n, xfrm: 0x03n };
      let flags = attrs.flags;
      if (r.debug === true) flags |= 0x02n;
      else if (r.debug === false) flags &= ~0x02n;
      const report = encodeReportBody({ ...r, cpuSvn: r.cpuSvn ?? cpuSvn, attributes: { flags, xfrm: attrs.xfrm } });
      return buildQuote({
        version,
        qeSvn,
        pceSvn: level.pceSvn,
        userData,
        report,
        attestationKey: k.attestation,
        qe,
        qeAuthData: QE_AUTH_DATA,
        pckChainPem: pckChainBytes,
      });
    },
  };
}
