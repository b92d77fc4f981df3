import { closeSync, openSync, readSync } from 'node:fs';

/**
 * CPUID leaf 0x12 through the Linux cpuid driver: reading 16 bytes of /dev/cpu/N/cpuid at offset
 * (subleaf << 32 | leaf) returns EAX, EBX, ECX, EDX (little-endian). Leaf 0x12 subleaf 0 gives SGX1
 * (EAX[0]) and SGX2/EDMM (EAX[1]); subleaves ≥ 2 list EPC sections (docs/node.md §Discovery).
 */
export interface SgxCpuid {
  sgx1: boolean;
  sgx2: boolean;
  /** Sum of valid EPC sections in bytes (type 1), or 0 when none are listed. */
  epcSectionsBytes: number;
  epcSections: number;
}

/** The kernel supports at most 8 EPC sections (SGX_MAX_EPC_SECTIONS). */
const MAX_SECTIONS = 8;

function readLeaf(fd: number, leaf: number, subleaf: number): [number, number, number, number] | null {
  const buf = Buffer.alloc(16);
  const n = readSync(fd, buf, 0, 16, subleaf * 2 ** 32 + leaf);
  if (n !== 16) return null;
  return [buf.readUInt32LE(0), buf.readUInt32LE(4), buf.readUInt32LE(8), buf.readUInt32LE(12)];
}

/** null when the cpuid device is absent or unreadable (module not loaded, not root). */
export function readSgxCpuid(path: string): SgxCpuid | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const l0 = readLeaf(fd, 0x12, 0);
    if (!l0) return null;
    const out: SgxCpuid = { sgx1: (l0[0] & 1) !== 0, sgx2: (l0[0] & 2) !== 0, epcSectionsBytes: 0, epcSections: 0 };
    for (let sub = 2; sub < 2 + MAX_SECTIONS; sub++) {
      const r = readLeaf(fd, 0x12, sub);
      if (!r || (r[0] & 0xf) !== 1) break;
      // Size = ECX[31:12] | EDX[19:0] << 32.
      const size = (r[2] & 0xfffff000) >>> 0;
      out.epcSectionsBytes += size + (r[3] & 0xfffff) * 2 ** 32;
      out.epcSections++;
    }
    return out;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
