import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A container whose EPC limit is to be enforced: the pod UID and QoS come from the Pod, the ID from its status. */
export interface EpcLimitTarget {
  podUid: string;
  /** Container ID without the runtime scheme (`containerd://`). */
  containerId: string;
  limitBytes: number;
}

export interface EpcLimitResult {
  /** misc.max files written this round. */
  written: number;
  /** Containers whose misc.max already said the right thing. */
  unchanged: number;
  /** Containers whose cgroup was not found (not started yet, or gone). */
  missing: number;
  errors: string[];
}

/**
 * Where the misc controller's files live under `root`, if the kernel offers `sgx_epc` there: the cgroup v2
 * unified tree, else the v1 misc hierarchy. null when the kernel has no EPC cgroup (mainline before it).
 */
export function miscBase(root: string): string | null {
  for (const dir of ['sys/fs/cgroup', 'sys/fs/cgroup/misc']) {
    try {
      if (/^sgx_epc\s+\d+\s*$/m.test(readFileSync(join(root, dir, 'misc.capacity'), 'utf8'))) return join(root, dir);
    } catch {
      // not this layout
    }
  }
  return null;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The pod's cgroup directory in the kubelet's two drivers and three QoS classes (the same layouts
 * cgroup.ts parses from /proc/<pid>/cgroup).
 */
function podDir(base: string, podUid: string): string | null {
  const u = podUid.replace(/-/g, '_');
  const candidates = [
    `kubepods.slice/kubepods-pod${u}.slice`,
    `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`,
    `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${u}.slice`,
    `kubepods/pod${podUid}`,
    `kubepods/burstable/pod${podUid}`,
    `kubepods/besteffort/pod${podUid}`,
  ];
  for (const c of candidates) if (isDir(join(base, c))) return join(base, c);
  return null;
}

/** The container's directory in its pod's: `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope` or `<id>`. */
function containerDir(pod: string, containerId: string): string | null {
  let names: string[];
  try {
    names = readdirSync(pod);
  } catch {
    return null;
  }
  const id = containerId.toLowerCase();
  const hit = names.find((n) => n === id || (n.endsWith(`-${id}.scope`) && !n.includes('conmon')));
  return hit ? join(pod, hit) : null;
}

/**
 * Write `sgx_epc <limit>` into each container's misc.max, as Intel's NRI plugin does at container creation
 * (docs/kube-operations.md §EPC enforcement). Only what differs is written, so a periodic pass over an
 * unchanged node writes nothing.
 */
export function applyEpcLimits(base: string, targets: readonly EpcLimitTarget[]): EpcLimitResult {
  const out: EpcLimitResult = { written: 0, unchanged: 0, missing: 0, errors: [] };
  for (const t of targets) {
    const pod = podDir(base, t.podUid);
    const dir = pod && containerDir(pod, t.containerId);
    if (!dir) {
      out.missing++;
      continue;
    }
    const file = join(dir, 'misc.max');
    const want = `sgx_epc ${t.limitBytes}`;
    let have = '';
    try {
      have = readFileSync(file, 'utf8');
    } catch {
      // not created yet by the kernel (fixture trees), written below
    }
    if (new RegExp(`^${want}\\s*$`, 'm').test(have)) {
      out.unchanged++;
      continue;
    }
    try {
      writeFileSync(file, `${want}\n`);
      out.written++;
    } catch (e) {
      out.errors.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return out;
}
