import { toPem } from './certificate.js';
import type { SimPlatform } from './platform.js';

/** What `pckcerts` answers (the shape src/pccs's PckSource returns). */
export interface SimPckCertsAnswer {
  raw: string;
  entries: { tcb: Record<string, number>; tcbm: string; cert: string | null }[];
  issuerChain: string;
  fmspc: string;
  ca: 'processor' | 'platform';
}

/**
 * The simulated platform's own Intel PCS (docs/sim.md §PCK certificates): it answers `pckcerts` for its platform
 * only — its encrypted PPID or QE-ID — with a certificate for every TCB level of the simulated FMSPC, in PCS v4's
 * body and headers, so the service caches and selects them exactly as it does Intel's. Any other platform is 404.
 */
export function simulatedPcs(p: SimPlatform) {
  const reg = p.registration;
  const entries = p.pckCertificates().map((c) => {
    const tcb: Record<string, number> = {};
    c.level.components.forEach((svn, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = svn));
    tcb.pcesvn = c.level.pceSvn;
    return { tcb, tcbm: c.tcbm, cert: toPem(c.der) };
  });
  const caDer = p.options.caType === 'platform' ? p.certificates.platformCa : p.certificates.processorCa;
  const answer: SimPckCertsAnswer = {
    raw: JSON.stringify(entries.map((e) => ({ ...e, cert: encodeURIComponent(e.cert) }))),
    entries,
    issuerChain: toPem(caDer) + p.rootCertPem,
    fmspc: p.expected.fmspc.toUpperCase(),
    ca: p.options.caType,
  };
  return {
    name: 'simulated platform',
    registration: reg,
    knows: (q: { enc_ppid: string; qe_id: string }): boolean => q.enc_ppid.toUpperCase() === reg.enc_ppid || q.qe_id.toUpperCase() === reg.qe_id,
    async pckCerts(q: { enc_ppid: string; platform_manifest: string }): Promise<SimPckCertsAnswer> {
      if (q.enc_ppid.toUpperCase() !== reg.enc_ppid) {
        throw Object.assign(new Error('simulated PCS: not this platform\'s encrypted PPID'), { status: 404 });
      }
      return answer;
    },
  };
}
