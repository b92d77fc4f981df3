// Builds a temporary host root from a fixture tree: copies the plain files, then makes what git
// cannot hold — real character devices (mknod; the tests run as root), the CPUID device contents
// and the aesmd unix socket.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/node/', import.meta.url));

interface HostSpec {
  devices: [string, number, number][];
  cpuid: Record<string, [number, number, number, number]>;
  aesmd: boolean;
}

export interface HostTree {
  root: string;
  spec: HostSpec;
  mknod(path: string, major: number, minor: number): void;
  cleanup(): Promise<void>;
}

export function mknod(root: string, path: string, major: number, minor: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  execFileSync('mknod', [full, 'c', String(major), String(minor)]);
}

/** /dev/cpu/N/cpuid semantics: 16 bytes (EAX, EBX, ECX, EDX) at offset subleaf << 32 | leaf. */
function writeCpuid(path: string, leaves: HostSpec['cpuid']): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  try {
    for (const [key, regs] of Object.entries(leaves)) {
      const [leaf, sub] = key.split('.').map((x) => Number(x));
      const b = Buffer.alloc(16);
      regs.forEach((r, i) => b.writeUInt32LE(r >>> 0, i * 4));
      writeSync(fd, b, 0, 16, sub * 2 ** 32 + leaf);
    }
  } finally {
    closeSync(fd);
  }
}

export async function makeHostTree(name: string): Promise<HostTree> {
  const root = mkdtempSync(join(tmpdir(), `ck-host-${name}-`));
  cpSync(join(FIXTURES, 'hosts', name), root, { recursive: true });
  const spec = JSON.parse(readFileSync(join(FIXTURES, 'hosts', name, 'host.json'), 'utf8')) as HostSpec;
  rmSync(join(root, 'host.json'));
  for (const [p, maj, min] of spec.devices) mknod(root, p, maj, min);
  writeCpuid(join(root, 'dev/cpu/0/cpuid'), spec.cpuid);
  let server: Server | null = null;
  if (spec.aesmd) {
    const sock = join(root, 'var/run/aesmd/aesm.socket');
    mkdirSync(dirname(sock), { recursive: true });
    server = createServer((c) => c.end());
    await new Promise<void>((r) => server!.listen(sock, () => r()));
  }
  return {
    root,
    spec,
    mknod: (p, maj, min) => mknod(root, p, maj, min),
    cleanup: async () => {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
