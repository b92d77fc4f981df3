import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpuinfo } from './cpuinfo.js';
import { readSgxCpuid } from './cpuid.js';
import { parseDpkgStatus } from './packages.js';
import { AESMD_SOCKET, ENCLAVE_DEVICES, PROVISION_DEVICES, VEPC_DEVICE } from './names.js';

export type SgxDriver = 'inkernel' | 'dcap' | 'isgx' | 'none';

export interface DeviceNode {
  /** Path on the host (as containers and the kubelet see it), not prefixed by the host root. */
  path: string;
  major: number;
  minor: number;
}

export interface SgxDiscovery {
  /** An SGX node: the CPU reports SGX and an enclave device node exists. */
  sgx: boolean;
  flc: boolean;
  /** SGX2 (EDMM) from CPUID leaf 0x12; null when the cpuid device could not be read. */
  sgx2: boolean | null;
  cpuModel: string | null;
  driver: SgxDriver;
  devices: {
    enclave: string | null;
    provision: string | null;
    vepc: string | null;
    found: DeviceNode[];
  };
  epc: {
    totalBytes: number;
    /** Per NUMA node from sysfs; empty when the kernel does not export it (before ~5.17). */
    numa: { node: number; bytes: number }[];
    source: 'sysfs' | 'cpuid' | 'none';
  };
  kernel: string | null;
  aesmd: { socket: string | null };
  /** The misc cgroup `sgx_epc` controller (not mainline; detected at runtime, docs/node.md §EPC cgroup). */
  miscCgroup: { sgxEpc: boolean; capacityBytes: number | null };
  packages: Record<string, string>;
  /** Things an operator should know (for example an enclave device without the CPU flag). */
  notes: string[];
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** A character device at `hostPath` under `root` (docs/node.md §Device nodes: DeviceSpec must point at char devices, azure-docs#71783). */
export function charDevice(root: string, hostPath: string): DeviceNode | null {
  try {
    const st = statSync(join(root, hostPath));
    if (!st.isCharacterDevice()) return null;
    // Linux dev_t: major = bits 8..19 (+ 32..43), minor = bits 0..7 (+ 12..31 of the high part).
    const rdev = st.rdev;
    return { path: hostPath, major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00) };
  } catch {
    return null;
  }
}

function readNumaEpc(root: string): { node: number; bytes: number }[] {
  const dir = join(root, 'sys/devices/system/node');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { node: number; bytes: number }[] = [];
  for (const name of names) {
    const m = /^node(\d+)$/.exec(name);
    if (!m) continue;
    const t = readText(join(dir, name, 'x86/sgx_total_bytes'));
    if (t === null) continue;
    const bytes = Number(t.trim());
    if (Number.isSafeInteger(bytes) && bytes >= 0) out.push({ node: Number(m[1]), bytes });
  }
  return out.sort((a, b) => a.node - b.node);
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

function readMiscCapacity(root: string): { sgxEpc: boolean; capacityBytes: number | null } {
  // cgroup v2 root, then the v1 misc hierarchy.
  for (const p of ['sys/fs/cgroup/misc.capacity', 'sys/fs/cgroup/misc/misc.capacity']) {
    const t = readText(join(root, p));
    if (t === null) continue;
    const m = /^sgx_epc\s+(\d+)\s*$/m.exec(t);
    if (m) return { sgxEpc: true, capacityBytes: Number(m[1]) };
  }
  return { sgxEpc: false, capacityBytes: null };
}

/**
 * Discover SGX on the host whose root file system is at `root` (`/`, or the host mount of a
 * DaemonSet, or a fixture tree). Absence of SGX is a normal answer, never an error.
 */
export function discover(root = '/'): SgxDiscovery {
  const notes: string[] = [];
  const cpuinfoText = readText(join(root, 'proc/cpuinfo'));
  const cpu = parseCpuinfo(cpuinfoText ?? '');
  if (cpuinfoText === null) notes.push('proc/cpuinfo is not readable');

  const found: DeviceNode[] = [];
  const pick = (paths: readonly string[]): string | null => {
    let first: string | null = null;
    for (const p of paths) {
      const d = charDevice(root, p);
      if (d) {
        found.push(d);
        first ??= p;
      } else if (existsSync(join(root, p))) {
        notes.push(`${p} exists but is not a character device`);
      }
    }
    return first;
  };
  const enclave = pick(ENCLAVE_DEVICES);
  const provision = pick(PROVISION_DEVICES);
  const vepc = pick([VEPC_DEVICE]);

  // The out-of-tree DCAP driver is module intel_sgx (flat names from v1.41, /dev/sgx/* before);
  // the non-FLC legacy driver is module isgx with /dev/isgx; the in-kernel driver has no module.
  let driver: SgxDriver = 'none';
  if (enclave === '/dev/isgx') driver = 'isgx';
  else if (enclave === '/dev/sgx/enclave' || existsSync(join(root, 'sys/module/intel_sgx'))) driver = enclave ? 'dcap' : 'none';
  else if (enclave === '/dev/sgx_enclave') driver = 'inkernel';

  const cpuid = readSgxCpuid(join(root, 'dev/cpu/0/cpuid'));
  const numa = readNumaEpc(root);
  let epc: SgxDiscovery['epc'];
  if (numa.length > 0) epc = { totalBytes: numa.reduce((s, n) => s + n.bytes, 0), numa, source: 'sysfs' };
  else if (cpuid && cpuid.epcSectionsBytes > 0) epc = { totalBytes: cpuid.epcSectionsBytes, numa: [], source: 'cpuid' };
  else epc = { totalBytes: 0, numa: [], source: 'none' };

  if (!cpu.sgx && enclave) notes.push(`${enclave} exists but /proc/cpuinfo has no sgx flag`);
  if (cpu.sgx && !enclave) notes.push('the CPU reports SGX but no enclave device node exists (driver not loaded?)');
  if (driver === 'inkernel' && !cpu.flc) notes.push('the in-kernel driver needs Flexible Launch Control, which the CPU does not report');

  const kernel = readText(join(root, 'proc/sys/kernel/osrelease'))?.trim() || null;
  const aesmd = isSocket(join(root, AESMD_SOCKET)) ? AESMD_SOCKET : null;
  const dpkg = readText(join(root, 'var/lib/dpkg/status'));

  return {
    sgx: cpu.sgx && enclave !== null,
    flc: cpu.flc,
    sgx2: cpuid ? cpuid.sgx2 : null,
    cpuModel: cpu.modelName,
    driver,
    devices: { enclave, provision, vepc, found },
    epc,
    kernel,
    aesmd: { socket: aesmd },
    miscCgroup: readMiscCapacity(root),
    packages: dpkg === null ? {} : parseDpkgStatus(dpkg),
    notes,
  };
}
