import { parseCrl } from '../dcap/x509.js';
import type { CollateralRecord } from './deps.js';
import { CollateralUnavailableError } from './errors.js';

/** `nextUpdate` (ms) of a signed PCS JSON body (`tcbInfo` or `enclaveIdentity`), null when absent or unreadable. */
export function jsonNextUpdate(body: Uint8Array, key: string): number | null {
  try {
    const v = (JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, Record<string, unknown>>)[key]?.nextUpdate;
    return typeof v === 'string' ? Date.parse(v) : null;
  } catch {
    return null;
  }
}

/**
 * Fetch collateral from an Intel PCS / PCCS v4 API (docs/dcap.md §Collateral): TCB Info by FMSPC, QE Identity, both PCK
 * CRLs and the root CA CRL, with their issuer-chain headers (URL-encoded PEM). Bodies are kept byte-exact.
 * The whole exchange is bounded by `timeoutMs`: a hanging upstream becomes a CollateralUnavailableError.
 */
export async function fetchPcsCollateral(base: string, fmspc: string, now: number, timeoutMs = 10_000, fetcher: (url: string, init: RequestInit) => Promise<Response> = fetch): Promise<CollateralRecord[]> {
  const root = base.replace(/\/+$/, '');
  const signal = AbortSignal.timeout(timeoutMs);
  const get = async (path: string, chainHeader: string | null, optional = false): Promise<{ body: Uint8Array; chain: string | null } | null> => {
    try {
      const res = await fetcher(`${root}${path}`, { signal });
      if (!res.ok) {
        await res.body?.cancel();
        if (optional) return null;
        throw new CollateralUnavailableError(`upstream ${root}${path}: HTTP ${res.status}`, res.status === 404 ? 'ERR_COLLATERAL_NOT_FOUND' : undefined);
      }
      const h = chainHeader ? res.headers.get(chainHeader) : null;
      return { body: new Uint8Array(await res.arrayBuffer()), chain: h ? decodeURIComponent(h) : null };
    } catch (e) {
      if (e instanceof CollateralUnavailableError) throw e;
      const timedOut = signal.aborted;
      throw new CollateralUnavailableError(`upstream ${root}${path}: ${timedOut ? `no answer within ${timeoutMs} ms` : (e as Error).message}`, timedOut ? 'ERR_UPSTREAM_TIMEOUT' : undefined);
    }
  };
  const jsonNext = jsonNextUpdate;
  const tcb = await get(`/sgx/certification/v4/tcb?fmspc=${encodeURIComponent(fmspc)}`, 'TCB-Info-Issuer-Chain');
  const qe = await get('/sgx/certification/v4/qe/identity', 'SGX-Enclave-Identity-Issuer-Chain');
  const out: CollateralRecord[] = [
    { key: `tcb:${fmspc}`, body: tcb!.body, issuerChain: tcb!.chain, fetchedAt: now, nextUpdate: jsonNext(tcb!.body, 'tcbInfo') },
    { key: 'qe', body: qe!.body, issuerChain: qe!.chain, fetchedAt: now, nextUpdate: jsonNext(qe!.body, 'enclaveIdentity') },
  ];
  for (const ca of ['processor', 'platform']) {
    const r = await get(`/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`, 'SGX-PCK-CRL-Issuer-Chain', true);
    if (r) out.push({ key: `pckcrl:${ca}`, body: parseCrl(r.body, `PCK ${ca} CRL`).der, issuerChain: r.chain, fetchedAt: now, nextUpdate: parseCrl(r.body, 'PCK CRL').nextUpdate });
  }
  const rc = await get('/sgx/certification/v4/rootcacrl', null, true);
  if (rc) {
    // PCCS serves the root CA CRL as hex text of the DER; PCS/Intel's CDP as DER.
    const txt = Buffer.from(rc.body).toString('latin1').trim();
    const der = /^[0-9a-fA-F]+$/.test(txt) ? new Uint8Array(Buffer.from(txt, 'hex')) : rc.body;
    out.push({ key: 'rootcacrl', body: der, issuerChain: null, fetchedAt: now, nextUpdate: parseCrl(der, 'root CA CRL').nextUpdate });
  }
  return out;
}
