import { ENCLAVE_DEVICES } from './names.js';

/**
 * Enclave mappings in /proc/<pid>/maps. An enclave's address range (ELRANGE) is mmap()ed from the
 * enclave device fd, so its lines name `/dev/sgx_enclave` (or the legacy `/dev/sgx/enclave`,
 * `/dev/isgx`). Line format (proc(5)): `start-end perms offset dev inode   pathname`.
 * With SGX1 the whole range is EADDed at load, so mapped bytes are the committed EPC; with SGX2
 * (EDMM) they are an upper bound (docs/node.md §Per-pod EPC) — misc.current is the real usage where
 * the kernel has the EPC cgroup.
 */
export interface EnclaveMappings {
  /** Bytes of the union of all enclave-device mappings. */
  bytes: number;
  mappings: number;
}

const ENCLAVE_PATHS = new Set<string>(ENCLAVE_DEVICES);

export function parseEnclaveMappings(text: string, devicePaths: ReadonlySet<string> = ENCLAVE_PATHS): EnclaveMappings {
  const ranges: [number, number][] = [];
  // Cheap scan: only lines naming something under /dev/ can be enclave mappings.
  let idx = text.indexOf('/dev/');
  while (idx >= 0) {
    const ls = text.lastIndexOf('\n', idx) + 1;
    let le = text.indexOf('\n', idx);
    if (le < 0) le = text.length;
    // The pathname is the last field, preceded by spaces.
    if (idx > ls && text.charCodeAt(idx - 1) === 32) {
      let path = text.slice(idx, le).trimEnd();
      if (path.endsWith(' (deleted)')) path = path.slice(0, -10);
      if (devicePaths.has(path)) {
        const line = text.slice(ls, idx);
        const dash = line.indexOf('-');
        const sp = line.indexOf(' ');
        if (dash > 0 && sp > dash) {
          const start = parseInt(line.slice(0, dash), 16);
          const stop = parseInt(line.slice(dash + 1, sp), 16);
          if (Number.isFinite(start) && Number.isFinite(stop) && stop > start) ranges.push([start, stop]);
        }
      }
    }
    idx = text.indexOf('/dev/', le);
  }
  if (ranges.length === 0) return { bytes: 0, mappings: 0 };
  ranges.sort((a, b) => a[0] - b[0]);
  let bytes = 0;
  let [cs, ce] = ranges[0];
  for (let i = 1; i < ranges.length; i++) {
    const [s, e] = ranges[i];
    if (s <= ce) ce = Math.max(ce, e);
    else {
      bytes += ce - cs;
      [cs, ce] = [s, e];
    }
  }
  bytes += ce - cs;
  return { bytes, mappings: ranges.length };
}
