import { createHash } from 'node:crypto';
import { bytesEqual } from '../lib/bytes.js';
import { intelSgxRootCaDer } from './intel-root.js';
import { issuedBy, parseCert, type Cert } from './x509.js';

/** A set of trusted root certificates, parsed once. */
export interface Anchors {
  key: string;
  certs: Cert[];
}

/** Parsed anchor sets by the hash of their DER (held by a Verifier). */
export type AnchorCache = Map<string, Anchors>;

/** The anchors for these DER roots (none: the Intel SGX Root CA), parsed once per cache. */
export function resolveAnchors(ders: readonly Uint8Array[] | undefined, cache: AnchorCache): Anchors {
  const intel = !ders || ders.length === 0;
  let key = 'intel';
  if (!intel) {
    const h = createHash('sha256');
    for (const d of ders) h.update(d);
    key = h.digest('hex');
  }
  let a = cache.get(key);
  if (!a) {
    a = intel
      ? { key, certs: [parseCert(intelSgxRootCaDer(), 'Intel SGX Root CA')] }
      : { key, certs: ders.map((d, i) => parseCert(d, `trust anchor ${i + 1}`)) };
    if (cache.size >= 32) cache.clear();
    cache.set(key, a);
  }
  return a;
}

/** The anchor this certificate is: the same bytes, or the same subject and key (a re-issued root). */
export function asAnchor(c: Cert, anchors: Anchors): Cert | undefined {
  return anchors.certs.find((a) => bytesEqual(a.der, c.der) || (bytesEqual(a.subjectDer, c.subjectDer) && a.spkiSha256 === c.spkiSha256));
}

/** An anchor that issued this certificate. */
export function anchorIssuerOf(c: Cert, anchors: Anchors): Cert | undefined {
  return anchors.certs.find((a) => issuedBy(c, a));
}

export type ChainResult = { ok: true; chain: Cert[] } | { ok: false; code: 'ERR_UNTRUSTED_ROOT' | 'ERR_CHAIN_INVALID'; message: string };

export function anchorNames(anchors: Anchors): string {
  return anchors.certs.map((a) => `"${a.subjectCn}"`).join(', ');
}

/**
 * Build a chain from `leaf` up to an anchor through `pool` (at most `maxDepth` intermediates). A chain that
 * ends in a self-signed certificate that is not an anchor is ERR_UNTRUSTED_ROOT, naming that root.
 */
export function chainToAnchor(leaf: Cert, pool: readonly Cert[], anchors: Anchors, maxDepth = 3): ChainResult {
  const chain = [leaf];
  let cur = leaf;
  for (let depth = 0; depth <= maxDepth; depth++) {
    if (asAnchor(cur, anchors)) return { ok: true, chain };
    const byAnchor = anchorIssuerOf(cur, anchors);
    if (byAnchor) {
      chain.push(byAnchor);
      return { ok: true, chain };
    }
    const parent = pool.find((p) => p !== cur && issuedBy(cur, p));
    if (!parent) {
      const selfSigned = bytesEqual(cur.subjectDer, cur.issuerDer) && issuedBy(cur, cur);
      if (selfSigned) {
        return { ok: false, code: 'ERR_UNTRUSTED_ROOT', message: `chain ends in "${cur.subjectCn}", which is not a trust anchor (trusted: ${anchorNames(anchors)})` };
      }
      return { ok: false, code: 'ERR_CHAIN_INVALID', message: `no valid issuer found for "${cur.subjectCn}"` };
    }
    chain.push(parent);
    cur = parent;
  }
  return { ok: false, code: 'ERR_CHAIN_INVALID', message: `chain from "${leaf.subjectCn}" is longer than ${maxDepth + 1}` };
}
