import { createHash } from 'node:crypto';
import { CollateralError } from './errors.js';
import { parseSignedJson, signedJsonFromParts, type SignedJson } from './signed-json.js';
import { parseTcbInfo, type TcbInfo } from './tcb-info.js';
import { parseQeIdentity, type QeIdentity } from './qe-identity.js';
import { isPem, pemBlocks } from '../lib/pem.js';
import { certsFrom, crlFrom, parseCert, parseCrl, type Cert, type Crl } from './x509.js';

/** What a caller assembles: raw bytes as served by Intel PCS / a PCCS (v3 or v4 API). */
export interface CollateralInput {
  /** PCS body, exact bytes: {"tcbInfo":{…},"signature":"<hex r‖s>"}. */
  tcbInfo: string | Uint8Array | SignedJson<Record<string, unknown>>;
  /** PCS body: {"enclaveIdentity":{…},"signature":"…"}. */
  qeIdentity: string | Uint8Array | SignedJson<Record<string, unknown>>;
  /** PEM text (the TCB-Info-Issuer-Chain header, URL-decoded or not) or DER certificates, leaf first. */
  tcbInfoIssuerChain?: string | Uint8Array[];
  qeIdentityIssuerChain?: string | Uint8Array[];
  /** PCK Processor and/or Platform CA CRLs (DER or PEM). */
  pckCrls: Uint8Array[];
  pckCrlIssuerChain?: string | Uint8Array[];
  /** Intel SGX Root CA CRL (DER or PEM). */
  rootCaCrl?: Uint8Array;
  /** Further certificates (CAs) found alongside, e.g. in a collateral directory. */
  certificates?: Uint8Array[];
}

/** Parsed, reusable collateral. Signature checks against a trust anchor are memoised per anchor set. */
export interface Collateral {
  readonly prepared: true;
  tcbInfoJson: SignedJson<Record<string, unknown>>;
  tcbInfo: TcbInfo;
  qeIdentityJson: SignedJson<Record<string, unknown>>;
  qeIdentity: QeIdentity;
  tcbInfoChain: Cert[];
  qeIdentityChain: Cert[];
  pckCrls: Crl[];
  rootCaCrl: Crl | null;
  /** Every certificate available for building chains (issuer chains, extra certificates). */
  pool: Cert[];
  /** Content hash: cache key for derived results. */
  id: string;
  /** Memo of per-anchor-set verification of the collateral itself. */
  memo: Map<string, unknown>;
}

function signedJson(v: CollateralInput['tcbInfo'], key: string, what: string): SignedJson<Record<string, unknown>> {
  if (typeof v === 'string' || v instanceof Uint8Array) return parseSignedJson(v, key, what);
  if (v && typeof v === 'object' && 'signed' in v && 'signature' in v) return v;
  throw new CollateralError(`${what}: missing`);
}

export function prepareCollateral(input: CollateralInput): Collateral {
  if (!input || typeof input !== 'object') throw new CollateralError('collateral: expected an object');
  const tcbInfoJson = signedJson(input.tcbInfo, 'tcbInfo', 'TCB Info');
  const qeIdentityJson = signedJson(input.qeIdentity, 'enclaveIdentity', 'QE Identity');
  const tcbInfoChain = certsFrom(input.tcbInfoIssuerChain, 'TCB Info issuer chain');
  const qeIdentityChain = certsFrom(input.qeIdentityIssuerChain, 'QE Identity issuer chain');
  const extra = [...certsFrom(input.pckCrlIssuerChain, 'PCK CRL issuer chain'), ...certsFrom(input.certificates, 'certificate')];
  const pckCrls = (input.pckCrls ?? []).map((b, i) => crlFrom(b, `PCK CRL ${i + 1}`));
  const rootCaCrl = input.rootCaCrl ? crlFrom(input.rootCaCrl, 'root CA CRL') : null;
  const h = createHash('sha256');
  h.update(tcbInfoJson.signed).update(tcbInfoJson.signature).update(qeIdentityJson.signed).update(qeIdentityJson.signature);
  const pool: Cert[] = [];
  const seen = new Set<string>();
  for (const c of [...tcbInfoChain, ...qeIdentityChain, ...extra]) {
    const k = Buffer.from(c.der).toString('base64');
    if (!seen.has(k)) {
      seen.add(k);
      pool.push(c);
      h.update(c.der);
    }
  }
  for (const c of pckCrls) h.update(c.der);
  if (rootCaCrl) h.update(rootCaCrl.der);
  return {
    prepared: true,
    tcbInfoJson,
    tcbInfo: parseTcbInfo(tcbInfoJson),
    qeIdentityJson,
    qeIdentity: parseQeIdentity(qeIdentityJson),
    tcbInfoChain,
    qeIdentityChain,
    pckCrls,
    rootCaCrl,
    pool,
    id: h.digest('hex'),
    memo: new Map(),
  };
}

export function isPrepared(c: Collateral | CollateralInput): c is Collateral {
  return (c as Collateral).prepared === true;
}

/**
 * Collateral from a set of files recognised by their content, not their names: a `{"tcbInfo":…}` body, a
 * `{"enclaveIdentity":…}` body, a dcap-qvl bundle, PEM/DER certificates and CRLs. A root CA CRL is told
 * apart from PCK CRLs by its issuer: the root CRL's issuer is a self-signed certificate's subject, or its
 * CN says "Root CA".
 */
export function collateralFromFiles(files: { name: string; data: Uint8Array }[]): CollateralInput {
  let tcbInfo: Uint8Array | undefined;
  let qeIdentity: Uint8Array | undefined;
  let bundle: CollateralInput | undefined;
  const certs: Uint8Array[] = [];
  const crls: { der: Uint8Array; name: string }[] = [];
  for (const f of files) {
    const d = f.data;
    const head = Buffer.from(d.buffer, d.byteOffset, Math.min(d.byteLength, 512)).toString('latin1').trimStart();
    if (head.startsWith('{')) {
      let keys: string[];
      try {
        keys = Object.keys(JSON.parse(new TextDecoder().decode(d)) as object);
      } catch (e) {
        throw new CollateralError(`${f.name}: not valid JSON (${(e as Error).message})`);
      }
      if (keys.includes('tcbInfo')) {
        if (tcbInfo) throw new CollateralError(`${f.name}: a second TCB Info in the collateral`);
        tcbInfo = d;
      } else if (keys.includes('enclaveIdentity')) {
        if (qeIdentity) throw new CollateralError(`${f.name}: a second QE Identity in the collateral`);
        qeIdentity = d;
      } else if (keys.includes('tcb_info')) {
        if (bundle) throw new CollateralError(`${f.name}: a second collateral bundle`);
        bundle = collateralFromBundle(d, f.name);
      } else {
        throw new CollateralError(`${f.name}: JSON that is neither TCB Info, QE Identity nor a collateral bundle`);
      }
      continue;
    }
    if (isPem(d)) {
      for (const b of pemBlocks(Buffer.from(d).toString('latin1'))) {
        if (b.label === 'CERTIFICATE') certs.push(b.der);
        else if (b.label === 'X509 CRL') crls.push({ der: b.der, name: f.name });
      }
      continue;
    }
    if (d.length > 0 && d[0] === 0x30) {
      // DER: a certificate or a CRL; try certificate first.
      try {
        parseCert(d, f.name);
        certs.push(d);
        continue;
      } catch {
        /* not a certificate */
      }
      try {
        parseCrl(d, f.name);
        crls.push({ der: d, name: f.name });
        continue;
      } catch {
        /* fall through */
      }
    }
    throw new CollateralError(`${f.name}: not recognised as collateral (expected PCS JSON, a bundle, PEM or DER certificates or CRLs)`);
  }
  if (bundle) {
    if (tcbInfo || qeIdentity) throw new CollateralError('collateral has both a bundle and separate TCB Info / QE Identity');
    return { ...bundle, certificates: [...(bundle.certificates ?? []), ...certs], pckCrls: [...bundle.pckCrls, ...crls.map((c) => c.der)] };
  }
  if (!tcbInfo) throw new CollateralError('collateral: no TCB Info ({"tcbInfo":…}) found');
  if (!qeIdentity) throw new CollateralError('collateral: no QE Identity ({"enclaveIdentity":…}) found');
  const parsedCerts = certs.map((c) => parseCert(c, 'certificate'));
  const selfSigned = parsedCerts.filter((c) => Buffer.compare(Buffer.from(c.subjectDer), Buffer.from(c.issuerDer)) === 0);
  let rootCaCrl: Uint8Array | undefined;
  const pckCrls: Uint8Array[] = [];
  for (const c of crls) {
    const crl = parseCrl(c.der, c.name);
    const byRoot = selfSigned.some((r) => Buffer.compare(Buffer.from(r.subjectDer), Buffer.from(crl.issuerDer)) === 0) || /Root CA/i.test(crl.issuerCn);
    if (byRoot) {
      if (rootCaCrl) throw new CollateralError(`${c.name}: a second root CA CRL`);
      rootCaCrl = c.der;
    } else pckCrls.push(c.der);
  }
  return { tcbInfo, qeIdentity, certificates: certs, pckCrls, rootCaCrl };
}

/** The dcap-qvl `QuoteCollateralV3` JSON (`tcb_info` and `qe_identity` hold the exact signed text). */
export function collateralFromBundle(json: string | Uint8Array, what = 'collateral bundle'): CollateralInput {
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(typeof json === 'string' ? json : new TextDecoder().decode(json));
  } catch (e) {
    throw new CollateralError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  const str = (k: string): string => {
    if (typeof b[k] !== 'string') throw new CollateralError(`${what}: "${k}" must be a string`);
    return b[k] as string;
  };
  const hexBytes = (k: string): Uint8Array => {
    const v = str(k);
    if (!/^([0-9a-fA-F]{2})*$/.test(v)) throw new CollateralError(`${what}: "${k}" must be hex`);
    return Uint8Array.from(Buffer.from(v, 'hex'));
  };
  return {
    tcbInfo: signedJsonFromParts(str('tcb_info'), str('tcb_info_signature'), 'tcbInfo', `${what} tcb_info`),
    qeIdentity: signedJsonFromParts(str('qe_identity'), str('qe_identity_signature'), 'enclaveIdentity', `${what} qe_identity`),
    tcbInfoIssuerChain: str('tcb_info_issuer_chain'),
    qeIdentityIssuerChain: str('qe_identity_issuer_chain'),
    pckCrlIssuerChain: str('pck_crl_issuer_chain'),
    pckCrls: [hexBytes('pck_crl')],
    rootCaCrl: hexBytes('root_ca_crl'),
  };
}
