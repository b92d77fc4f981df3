/**
 * /proc/cpuinfo: the kernel prints `sgx` (CPUID.(7,0):EBX[2]) and `sgx_lc` (Flexible Launch Control,
 * CPUID.(7,0):ECX[30]) in the `flags` line; `sgx1`/`sgx2` are hidden feature bits
 * (docs/node.md §Discovery), so SGX2 needs CPUID leaf 0x12 (cpuid.ts).
 */
export interface CpuInfo {
  sgx: boolean;
  flc: boolean;
  modelName: string | null;
  logicalCpus: number;
}

export function parseCpuinfo(text: string): CpuInfo {
  let flags: Set<string> | null = null;
  let modelName: string | null = null;
  let logicalCpus = 0;
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key === 'processor') logicalCpus++;
    else if (key === 'model name' && modelName === null) modelName = value;
    // Only the first CPU's flags: the kernel clears SGX on all CPUs or none.
    else if (key === 'flags' && flags === null) flags = new Set(value.split(/\s+/));
  }
  return { sgx: flags?.has('sgx') ?? false, flc: flags?.has('sgx_lc') ?? false, modelName, logicalCpus };
}
