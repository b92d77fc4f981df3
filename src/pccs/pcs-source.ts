import { AttestationError } from '../attestation/errors.js';
import type { PckCertEntry, PlatformId } from './platform.js';

/** What PCS v4 answers to `pckcerts` for one platform: every TCB level's PCK certificate (docs/pccs.md §Upstream). */
export interface PckCertsAnswer {
  /** The response body exactly as received (served back byte for byte by GET /pckcerts). */
  raw: string;
  entries: PckCertEntry[];
  /** `SGX-PCK-Certificate-Issuer-Chain`, URL-decoded: the PCK CA then the root, PEM. */
  issuerChain: string;
  /** `SGX-FMSPC`, as sent (upper-case Base16). */
  fmspc: string;
  /** `SGX-PCK-Certificate-CA-Type`. */
  ca: 'processor' | 'platform';
}

/** Where PCK certificates come from on a miss: Intel PCS (or another PCCS), or the simulated platform. */
export interface PckSource {
  /** A name for messages (the URL, or "simulated platform"). */
  readonly name: string;
  /** Whether this source answers for the platform (the simulated source knows only its own). */
  knows(p: Pick<PlatformId, 'enc_ppid' | 'qe_id'>): boolean;
  /** Throws an AttestationError: 404 unknown platform, 502 refused API key or bad answer, 503 unavailable. */
  pckCerts(p: Pick<PlatformId, 'enc_ppid' | 'pce_id' | 'platform_manifest'>): Promise<PckCertsAnswer>;
}

const upstreamError = (status: number, code: string, message: string, retryAfter?: string): AttestationError => {
  const e = new AttestationError(status, code, message, `ERR_PCCS_${code.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`);
  if (retryAfter) e.headers = { 'retry-after': retryAfter };
  return e;
};

/** Parse a PCS v4 `pckcerts` body; a malformed answer is the upstream's fault (502). */
export function parsePckCertsBody(raw: string, where: string): PckCertEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw upstreamError(502, 'UpstreamBadAnswer', `${where}: pckcerts body is not JSON`);
  }
  if (!Array.isArray(v) || v.length === 0) throw upstreamError(502, 'UpstreamBadAnswer', `${where}: pckcerts body is not a non-empty JSON array`);
  return v.map((e: unknown, i) => {
    const o = e as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || typeof o.tcbm !== 'string' || !/^[0-9a-fA-F]{36}$/.test(o.tcbm) || typeof o.cert !== 'string' || !o.tcb || typeof o.tcb !== 'object') {
      throw upstreamError(502, 'UpstreamBadAnswer', `${where}: pckcerts entry ${i} lacks tcb, tcbm (36 hex digits) or cert`);
    }
    // PCS writes "Not available" for a TCB level it has no certificate for (Intel PCCS skips those).
    let cert: string | null = null;
    if (o.cert !== 'Not available') {
      try {
        cert = decodeURIComponent(o.cert);
      } catch {
        throw upstreamError(502, 'UpstreamBadAnswer', `${where}: pckcerts entry ${i}: cert is not URL-encoded PEM`);
      }
    }
    return { tcb: o.tcb as Record<string, number>, tcbm: o.tcbm.toUpperCase(), cert };
  });
}

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Intel PCS v4 (or a PCCS) over HTTPS: `GET /pckcerts?encrypted_ppid=…&pceid=…`, or `POST /pckcerts` with the
 * platform manifest when there is one (Intel PCCS prefers the manifest likewise), with the operator's API key in
 * `Ocp-Apim-Subscription-Key`. Status mapping (docs/pccs.md §Status codes): 404 → 404 unknown platform; 401 →
 * 502 (the operator's key was refused: the caller is not at fault); 429, 5xx, no answer → 503 with Retry-After.
 */
export class PcsSource implements PckSource {
  readonly name: string;
  /** Requests sent upstream (metrics and tests). */
  calls = 0;

  constructor(private readonly base: string, private readonly apiKey: string | undefined, private readonly timeoutMs = 10_000, private readonly fetcher: Fetcher = fetch) {
    this.base = base.replace(/\/+$/, '');
    this.name = this.base;
  }

  knows(): boolean {
    return true;
  }

  async pckCerts(p: Pick<PlatformId, 'enc_ppid' | 'pce_id' | 'platform_manifest'>): Promise<PckCertsAnswer> {
    const headers: Record<string, string> = this.apiKey ? { 'Ocp-Apim-Subscription-Key': this.apiKey } : {};
    const url = `${this.base}/sgx/certification/v4/pckcerts`;
    const init: RequestInit & { url: string } = p.platform_manifest
      ? { url, method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ platformManifest: p.platform_manifest, pceid: p.pce_id }) }
      : { url: `${url}?encrypted_ppid=${p.enc_ppid}&pceid=${p.pce_id}`, method: 'GET', headers };
    this.calls++;
    let res: Response;
    try {
      res = await this.fetcher(init.url, { method: init.method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
      throw upstreamError(503, 'UpstreamUnavailable', `${this.name}: ${timedOut ? `no answer within ${this.timeoutMs} ms` : (e as Error).message}`, '60');
    }
    const text = await res.text();
    const requestId = res.headers.get('request-id') ?? 'none';
    if (res.status === 404) throw new AttestationError(404, 'PlatformNotFound', `${this.name}: no PCK certificates for this platform (PCS Request-ID ${requestId})`, 'ERR_PCCS_PLATFORM_NOT_FOUND');
    if (res.status === 400) throw upstreamError(502, 'UpstreamRejected', `${this.name}: PCS refused the request as malformed (${res.headers.get('error-code') ?? '400'}; Request-ID ${requestId})`);
    if (res.status === 401 || res.status === 403) throw upstreamError(502, 'UpstreamUnauthorized', `${this.name}: PCS refused the API key (HTTP ${res.status}; Request-ID ${requestId}); check --pcs-api-key`);
    if (res.status === 429 || res.status >= 500) throw upstreamError(503, 'UpstreamUnavailable', `${this.name}: HTTP ${res.status} (Request-ID ${requestId})`, res.headers.get('retry-after') ?? '60');
    if (res.status !== 200) throw upstreamError(502, 'UpstreamBadAnswer', `${this.name}: unexpected HTTP ${res.status}`);
    const chain = res.headers.get('sgx-pck-certificate-issuer-chain');
    const fmspc = res.headers.get('sgx-fmspc');
    const ca = res.headers.get('sgx-pck-certificate-ca-type')?.toLowerCase();
    if (!chain || !fmspc || !/^[0-9a-fA-F]{12}$/.test(fmspc) || (ca !== 'processor' && ca !== 'platform')) {
      throw upstreamError(502, 'UpstreamBadAnswer', `${this.name}: pckcerts answer lacks SGX-PCK-Certificate-Issuer-Chain, SGX-FMSPC or SGX-PCK-Certificate-CA-Type`);
    }
    let issuerChain: string;
    try {
      issuerChain = decodeURIComponent(chain);
    } catch {
      throw upstreamError(502, 'UpstreamBadAnswer', `${this.name}: SGX-PCK-Certificate-Issuer-Chain is not URL-encoded PEM`);
    }
    return { raw: text, entries: parsePckCertsBody(text, this.name), issuerChain, fmspc, ca };
  }
}
