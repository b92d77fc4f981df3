import { ScrapeError } from './errors.js';

/** Per-pod EPC as one node agent reports it (docs/autoscale.md §Gathering). */
export interface PodEpcSample {
  namespace: string;
  pod: string;
  podUid: string;
  /** misc.current sgx_epc of the pod's containers, summed; null where the kernel has no EPC cgroup. */
  cgroupBytes: number | null;
  /** Bytes of enclave mappings of the pod's processes, summed. */
  mappedBytes: number;
}

const FAMILIES = new Set(['confkube_sgx_pod_epc_usage_bytes', 'confkube_sgx_pod_epc_mapped_bytes']);
// One sample line of the text exposition format 0.0.4: name{labels} value [timestamp].
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

function parseLabels(s: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < s.length) {
    const start = LABEL.lastIndex;
    const m = LABEL.exec(s);
    if (!m) {
      if (s.slice(start).trim() === '') break;
      throw new ScrapeError(`${where}: unparsable labels at column ${start}: ${JSON.stringify(s.slice(start, start + 40))}`);
    }
    out[m[1]!] = m[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
  }
  return out;
}

/**
 * The per-pod EPC families out of an agent's /metrics (Prometheus text format 0.0.4); other families are
 * skipped without parsing their labels, so the cost follows the EPC series, not the whole page.
 */
export function parsePodEpc(text: string, source = 'metrics'): PodEpcSample[] {
  const pods = new Map<string, PodEpcSample>();
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.startsWith('confkube_sgx_pod_epc_')) continue;
    const m = LINE.exec(line);
    if (!m) throw new ScrapeError(`${source} line ${lineNo}: not a sample line`);
    if (!FAMILIES.has(m[1]!)) continue;
    const labels = parseLabels(m[2] ?? '', `${source} line ${lineNo}`);
    const value = Number(m[3]);
    if (!Number.isFinite(value) || value < 0) throw new ScrapeError(`${source} line ${lineNo}: value ${JSON.stringify(m[3])} is not a byte count`);
    const uid = labels.pod_uid;
    if (!uid) continue;
    let p = pods.get(uid);
    if (!p) {
      p = { namespace: labels.namespace ?? '', pod: labels.pod ?? '', podUid: uid, cgroupBytes: null, mappedBytes: 0 };
      pods.set(uid, p);
    }
    if (m[1] === 'confkube_sgx_pod_epc_usage_bytes') p.cgroupBytes = (p.cgroupBytes ?? 0) + value;
    else p.mappedBytes += value;
  }
  return [...pods.values()];
}

/** EPC a pod uses: what its cgroup is charged where the kernel counts it, else its enclave mappings. */
export function usedBytes(s: PodEpcSample): number {
  return s.cgroupBytes ?? s.mappedBytes;
}
