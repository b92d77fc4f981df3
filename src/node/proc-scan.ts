import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePodCgroup, type PodCgroup } from './cgroup.js';
import { parseEnclaveMappings } from './maps.js';

export interface ContainerEpc {
  containerId: string | null;
  mappedBytes: number;
  processes: number;
  /** misc.current `sgx_epc` of the container's cgroup; null where the kernel has no EPC cgroup. */
  miscCurrentBytes: number | null;
}

export interface PodEpc {
  podUid: string;
  qos: PodCgroup['qos'];
  mappedBytes: number;
  processes: number;
  miscCurrentBytes: number | null;
  containers: ContainerEpc[];
}

export interface ProcScan {
  /** Processes looked at (numeric /proc entries that could be read). */
  scanned: number;
  /** Processes with at least one enclave mapping. */
  enclaveProcesses: number;
  totalMappedBytes: number;
  /** Enclaves of processes outside any pod (aesmd on the host, host tools). */
  host: { mappedBytes: number; processes: number };
  pods: PodEpc[];
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** `sgx_epc <bytes>` from a misc.current file (docs/node.md §EPC cgroup: misc resource `sgx_epc`, in bytes). */
export function parseMiscCurrent(text: string): number | null {
  const m = /^sgx_epc\s+(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : null;
}

function miscCurrentPath(root: string, cg: PodCgroup): string | null {
  if (cg.version === 2) return join(root, 'sys/fs/cgroup', cg.path, 'misc.current');
  return cg.hierarchy === 'misc' ? join(root, 'sys/fs/cgroup/misc', cg.path, 'misc.current') : null;
}

/**
 * Scan `<root>/proc` for enclave mappings and attribute them to pods and containers. Processes
 * that vanish mid-scan are skipped: /proc is a moving target.
 */
export function scanProc(root = '/'): ProcScan {
  const procDir = join(root, 'proc');
  let entries: string[];
  try {
    entries = readdirSync(procDir);
  } catch {
    entries = [];
  }
  const pods = new Map<string, PodEpc>();
  const containers = new Map<string, ContainerEpc>();
  const out: ProcScan = { scanned: 0, enclaveProcesses: 0, totalMappedBytes: 0, host: { mappedBytes: 0, processes: 0 }, pods: [] };
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const maps = readText(join(procDir, name, 'maps'));
    if (maps === null) continue;
    out.scanned++;
    const m = parseEnclaveMappings(maps);
    if (m.bytes === 0) continue;
    out.enclaveProcesses++;
    out.totalMappedBytes += m.bytes;
    const cgText = readText(join(procDir, name, 'cgroup'));
    const cg = cgText === null ? null : parsePodCgroup(cgText);
    if (!cg) {
      out.host.mappedBytes += m.bytes;
      out.host.processes++;
      continue;
    }
    let pod = pods.get(cg.podUid);
    if (!pod) {
      pod = { podUid: cg.podUid, qos: cg.qos, mappedBytes: 0, processes: 0, miscCurrentBytes: null, containers: [] };
      pods.set(cg.podUid, pod);
    }
    pod.mappedBytes += m.bytes;
    pod.processes++;
    const key = `${cg.podUid}/${cg.containerId ?? ''}`;
    let ctr = containers.get(key);
    if (!ctr) {
      const p = miscCurrentPath(root, cg);
      const t = p === null ? null : readText(p);
      ctr = { containerId: cg.containerId, mappedBytes: 0, processes: 0, miscCurrentBytes: t === null ? null : parseMiscCurrent(t) };
      containers.set(key, ctr);
      pod.containers.push(ctr);
      if (ctr.miscCurrentBytes !== null) pod.miscCurrentBytes = (pod.miscCurrentBytes ?? 0) + ctr.miscCurrentBytes;
    }
    ctr.mappedBytes += m.bytes;
    ctr.processes++;
  }
  out.pods = [...pods.values()].sort((a, b) => a.podUid.localeCompare(b.podUid));
  for (const p of out.pods) p.containers.sort((a, b) => (a.containerId ?? '').localeCompare(b.containerId ?? ''));
  return out;
}
