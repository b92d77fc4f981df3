// Node agent benchmark.
// 1. ListAndWatch message size on a 256 GiB EPC node (Standard_DC48s_v3): this design (EPC as a
//    node extended resource; the device plugin lists only the 110 shared enclave slots) next to
//    the per-MiB-device design (one device per MiB of EPC, docs/node.md §Why not one device per MiB), both serialized
//    here with the real v1beta1 proto; the kubelet accepts at most 4 MiB.
// 2. A /proc scan of 1,000 processes built in a temporary directory, against the anchor of just
//    reading the same files (no parsing), measured in the same run; target < 50 ms.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceIds, DEFAULT_SLOTS, EPC_RESOURCE, loadDevicePluginProto, scanProc } from '../src/node/index.js';

const MiB = 1024 * 1024;
const EPC_BYTES = 256 * 1024 * MiB;
const KUBELET_MAX = 4 * MiB;

type Serialize = (v: unknown) => Buffer;
const proto = loadDevicePluginProto();
const serialize = (proto.DevicePlugin.service as unknown as Record<string, { responseSerialize: Serialize }>).ListAndWatch.responseSerialize;

function listSize(ids: string[]): number {
  return serialize({ devices: ids.map((ID) => ({ ID, health: 'Healthy' })) }).length;
}

const ours = listSize(deviceIds(DEFAULT_SLOTS));
const perMib = listSize(Array.from({ length: EPC_BYTES / MiB }, (_, i) => `sgx-epc-${i}`));
const epcPatch = Buffer.byteLength(JSON.stringify([{ op: 'add', path: `/status/capacity/${EPC_RESOURCE.replace('/', '~1')}`, value: String(EPC_BYTES) }]));
// Per-MiB sizes of the DCsv3 sizes near the limit (docs/node.md §Why not one device per MiB: 128 GiB passes, 192 and 256 GiB fail).
const perMibBySize = [128, 192].map((gib) => [gib, listSize(Array.from({ length: gib * 1024 }, (_, i) => `sgx-epc-${i}`))] as const);

console.log('ListAndWatchResponse, 256 GiB EPC node (serialized protobuf bytes)');
console.log(`  this design, sgx.intel.com/enclave (${DEFAULT_SLOTS} slots):  ${ours} B (${(ours / 1024).toFixed(2)} KiB); EPC itself is one status.capacity entry, JSON patch ${epcPatch} B`);
console.log(`  (the same ${ours} B on every node: the list depends on the slot count, not on EPC size)`);
console.log(`  per-MiB devices (${EPC_BYTES / MiB} devices):               ${perMib} B (${(perMib / MiB).toFixed(2)} MiB)`);
console.log(`  per-MiB / this design: ${(perMib / ours).toFixed(0)}x; per-MiB / kubelet 4 MiB limit: ${(perMib / KUBELET_MAX).toFixed(2)} (${perMib > KUBELET_MAX ? 'REJECTED: ResourceExhausted' : 'fits'})`);
for (const [gib, size] of perMibBySize) console.log(`  per-MiB devices, ${gib} GiB EPC: ${(size / MiB).toFixed(2)} MiB (${size > KUBELET_MAX ? 'rejected' : 'fits'})`);
console.log(`  this design / 1 KiB target: ${(ours / 1024).toFixed(2)}; bytes per slot: ${(ours / DEFAULT_SLOTS).toFixed(1)}; EPC part in ListAndWatch: 0 B`);

// ---- /proc scan ----
const N = 1000;
const root = mkdtempSync(join(tmpdir(), 'ck-bench-proc-'));
const libs = ['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'libstdc++.so.6', 'libgcc_s.so.1', 'libssl.so.3', 'libcrypto.so.3', 'libz.so.1', 'ld-linux-x86-64.so.2'];
let enclaveProcs = 0;
for (let pid = 1; pid <= N; pid++) {
  const lines: string[] = [];
  let addr = 0x7f0000000000 + pid * 0x10000000;
  const push = (size: number, perm: string, path: string): void => {
    const left = `${addr.toString(16)}-${(addr + size).toString(16)} ${perm} 00000000 08:01 ${100000 + lines.length}`;
    lines.push(path ? left.padEnd(73) + path : left + ' ');
    addr += size;
  };
  push(0x28000, 'r--p', '/usr/bin/app');
  push(0x176000, 'r-xp', '/usr/bin/app');
  push(0x21000, 'rw-p', '[heap]');
  // A typical process: ~60 lines (4 per shared library plus anonymous mappings).
  for (const l of libs) for (const perm of ['r--p', 'r-xp', 'r--p', 'rw-p']) push(0x1000 * (1 + (pid % 7)), perm, `/usr/lib/x86_64-linux-gnu/${l}`);
  for (let i = 0; i < 15; i++) push(0x1000, 'rw-p', '');
  push(0x10000, 'rw-s', '/dev/shm/sem.x');
  const inPod = pid % 10 === 0;
  if (inPod) {
    enclaveProcs++;
    for (const perm of ['r--s', 'r-xs', 'rw-s', '---s']) push(4 * MiB, perm, '/dev/sgx_enclave');
  }
  push(0x21000, 'rw-p', '[stack]');
  push(0x4000, 'r--p', '[vvar]');
  push(0x2000, 'r-xp', '[vdso]');
  const dir = join(root, 'proc', String(pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'maps'), lines.join('\n') + '\n');
  const uid = `00000000-0000-4000-8000-${String(pid % 37).padStart(12, '0')}`;
  writeFileSync(join(dir, 'cgroup'), inPod
    ? `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${String(pid).padStart(64, 'a')}.scope\n`
    : '0::/system.slice/app.service\n');
}

function anchorRead(): number {
  let bytes = 0;
  for (const name of readdirSync(join(root, 'proc'))) bytes += readFileSync(join(root, 'proc', name, 'maps'), 'utf8').length;
  return bytes;
}

function time(fn: () => unknown, runs: number): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - a) / 1e6);
  }
  t.sort((x, y) => x - y);
  return t[Math.floor(t.length / 2)];
}

// Warm up both (page cache, JIT), then take medians.
time(anchorRead, 3);
const check = scanProc(root);
if (check.scanned !== N || check.enclaveProcesses !== enclaveProcs || check.totalMappedBytes !== enclaveProcs * 16 * MiB) throw new Error('scan result is wrong');
time(() => scanProc(root), 3);
const anchorMs = time(anchorRead, 15);
const scanMs = time(() => scanProc(root), 15);
rmSync(root, { recursive: true, force: true });

console.log(`\n/proc scan, ${N} processes (~60 maps lines each, ${enclaveProcs} with enclaves in pods), median of 15`);
console.log(`  anchor (read every maps file, no parsing): ${anchorMs.toFixed(2)} ms`);
console.log(`  scanProc (read + parse + cgroup + attribute): ${scanMs.toFixed(2)} ms`);
console.log(`  scan / anchor: ${(scanMs / anchorMs).toFixed(2)}; scan / 50 ms target: ${(scanMs / 50).toFixed(2)}`);
