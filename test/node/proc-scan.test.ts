// Per-pod EPC from a fixture /proc (test/fixtures/node/proc-scan, README there) and from generated
// trees with many processes; the parsers for maps and cgroup lines on their own.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseEnclaveMappings, parseMiscCurrent, parsePodCgroup, scanProc } from '../../src/node/index.js';
import { FIXTURES } from './host-tree.js';

const MiB = 1024 * 1024;
const ROOT = join(FIXTURES, 'proc-scan');
const ids = JSON.parse(readFileSync(join(ROOT, 'ids.json'), 'utf8')) as Record<string, { uid: string; container?: string; containers?: string[] }>;

describe('scan of the fixture /proc', () => {
  const s = scanProc(ROOT);

  it('counts processes and attributes every enclave byte', () => {
    assert.equal(s.scanned, 9);
    assert.equal(s.enclaveProcesses, 7);
    assert.deepEqual(s.host, { mappedBytes: 3 * MiB, processes: 1 });
    assert.equal(s.totalMappedBytes, (3 + 80 + 256 + 40 + 128) * MiB);
    assert.equal(s.totalMappedBytes, s.host.mappedBytes + s.pods.reduce((a, p) => a + p.mappedBytes, 0));
  });

  it('gives the right sums per pod and container, with misc.current where the kernel has it', () => {
    const byUid = new Map(s.pods.map((p) => [p.podUid, p]));
    assert.equal(byUid.size, 4, 'pod E has no enclave and must not appear');
    const a = byUid.get(ids.podA.uid)!;
    assert.deepEqual(a, { podUid: ids.podA.uid, qos: 'burstable', mappedBytes: 80 * MiB, processes: 2, miscCurrentBytes: 72 * MiB,
      containers: [{ containerId: ids.podA.container, mappedBytes: 80 * MiB, processes: 2, miscCurrentBytes: 72 * MiB }] });
    const b = byUid.get(ids.podB.uid)!;
    assert.deepEqual(b, { podUid: ids.podB.uid, qos: 'guaranteed', mappedBytes: 256 * MiB, processes: 1, miscCurrentBytes: null,
      containers: [{ containerId: ids.podB.container, mappedBytes: 256 * MiB, processes: 1, miscCurrentBytes: null }] });
    const c = byUid.get(ids.podC.uid)!;
    assert.equal(c.qos, 'burstable');
    assert.equal(c.mappedBytes, 40 * MiB);
    assert.equal(c.miscCurrentBytes, 36 * MiB);
    const [c1, c2] = ids.podC.containers!;
    assert.deepEqual(c.containers.find((x) => x.containerId === c1), { containerId: c1, mappedBytes: 8 * MiB, processes: 1, miscCurrentBytes: 4 * MiB });
    assert.deepEqual(c.containers.find((x) => x.containerId === c2), { containerId: c2, mappedBytes: 32 * MiB, processes: 1, miscCurrentBytes: 32 * MiB });
    const d = byUid.get(ids.podD.uid)!;
    assert.deepEqual(d, { podUid: ids.podD.uid, qos: 'guaranteed', mappedBytes: 128 * MiB, processes: 1, miscCurrentBytes: 96 * MiB,
      containers: [{ containerId: ids.podD.container, mappedBytes: 128 * MiB, processes: 1, miscCurrentBytes: 96 * MiB }] });
  });

  it('an absent /proc gives an empty scan', () => {
    assert.deepEqual(scanProc(join(ROOT, 'nope')), { scanned: 0, enclaveProcesses: 0, totalMappedBytes: 0, host: { mappedBytes: 0, processes: 0 }, pods: [] });
  });
});

describe('generated /proc with many processes in several pods', () => {
  it('sums match an independent tally (fast-check)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        pod: fc.integer({ min: 0, max: 6 }),
        container: fc.integer({ min: 0, max: 2 }),
        enclaves: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 3 }),
        layout: fc.constantFrom('v2-systemd', 'v2-cgroupfs', 'v1-systemd', 'v1-cgroupfs', 'host'),
      }), { minLength: 1, maxLength: 40 }),
      (procs) => {
        const root = mkdtempSync(join(tmpdir(), 'ck-proc-'));
        try {
          const want = new Map<string, number>();
          let host = 0;
          procs.forEach((p, i) => {
            const uid = `00000000-0000-4000-8000-00000000000${p.pod}`;
            const cid = `${p.pod}${p.container}`.padEnd(64, 'a');
            let base = 0x7f0000000000 + i * 0x100000000;
            const lines = ['55d0c3a00000-55d0c3a28000 r--p 00000000 08:01 393231                     /usr/bin/app'];
            let bytes = 0;
            for (const mib of p.enclaves) {
              lines.push(`${base.toString(16)}-${(base + mib * MiB).toString(16)} rw-s 00000000 00:05 1042                       /dev/sgx_enclave`);
              base += mib * MiB + 0x1000000;
              bytes += mib * MiB;
            }
            const path = {
              'v2-systemd': `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope`,
              'v2-cgroupfs': `0::/kubepods/besteffort/pod${uid}/${cid}`,
              'v1-systemd': `4:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/crio-${cid}.scope\n1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/crio-${cid}.scope`,
              'v1-cgroupfs': `4:memory:/kubepods/besteffort/pod${uid}/${cid}`,
              host: '0::/system.slice/sshd.service',
            }[p.layout];
            const dir = join(root, 'proc', String(100 + i));
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, 'maps'), lines.join('\n') + '\n');
            writeFileSync(join(dir, 'cgroup'), path + '\n');
            if (bytes === 0) return;
            if (p.layout === 'host') host += bytes;
            else want.set(`${uid}/${cid}`, (want.get(`${uid}/${cid}`) ?? 0) + bytes);
          });
          const s = scanProc(root);
          assert.equal(s.scanned, procs.length);
          assert.equal(s.host.mappedBytes, host);
          const got = new Map<string, number>();
          for (const pod of s.pods) for (const c of pod.containers) got.set(`${pod.podUid}/${c.containerId}`, c.mappedBytes);
          assert.deepEqual(got, want);
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      }), { numRuns: 40 });
  });
});

describe('maps parser', () => {
  const line = (a: number, b: number, path: string, perm = 'rw-s') => `${a.toString(16)}-${b.toString(16)} ${perm} 00000000 00:05 1042                       ${path}`;
  it('counts only enclave-device mappings and merges overlapping or split ranges', () => {
    const text = [
      line(0x1000, 0x3000, '/dev/sgx_enclave', 'r--s'),
      line(0x3000, 0x5000, '/dev/sgx_enclave', '---s'),
      line(0x4000, 0x6000, '/dev/sgx_enclave'),
      line(0x10000, 0x11000, '/dev/sgx/enclave'),
      line(0x20000, 0x21000, '/dev/isgx (deleted)'),
      line(0x30000, 0x40000, '/dev/zero (deleted)'),
      line(0x50000, 0x60000, '/home/u/dev/sgx_enclave'),
      line(0x60000, 0x70000, '/dev/sgx_enclave.bak'),
      '7ffd5c5fa000-7ffd5c5fc000 r-xp 00000000 00:00 0                          [vdso]',
      '7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ',
    ].join('\n');
    assert.deepEqual(parseEnclaveMappings(text), { bytes: 0x5000 + 0x1000 + 0x1000, mappings: 5 });
    assert.deepEqual(parseEnclaveMappings(''), { bytes: 0, mappings: 0 });
  });

  it('misc.current: the sgx_epc line only', () => {
    assert.equal(parseMiscCurrent('sev 0\nsgx_epc 4096\n'), 4096);
    assert.equal(parseMiscCurrent('sev 0\n'), null);
  });
});

describe('cgroup parser', () => {
  const uid = '5f0c6a3e-8f1b-4c7e-9a52-1d2e3f4a5b6c';
  const cid = 'ab'.repeat(32);
  it('v2 systemd, containerd', () => {
    const p = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${cid}.scope`;
    assert.deepEqual(parsePodCgroup(`0::${p}\n`), { podUid: uid, containerId: cid, qos: 'burstable', version: 2, hierarchy: '', path: p });
  });
  it('v2 systemd under a kubelet cgroup root (kind), cri-o', () => {
    const p = `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${uid.replace(/-/g, '_')}.slice/crio-${cid}.scope`;
    assert.deepEqual(parsePodCgroup(`0::${p}\n`), { podUid: uid, containerId: cid, qos: 'besteffort', version: 2, hierarchy: '', path: p });
  });
  it('v2 cgroupfs, guaranteed', () => {
    assert.deepEqual(parsePodCgroup(`0::/kubepods/pod${uid}/${cid}\n`), { podUid: uid, containerId: cid, qos: 'guaranteed', version: 2, hierarchy: '', path: `/kubepods/pod${uid}/${cid}` });
  });
  it('v1 prefers the misc hierarchy', () => {
    const p = `/kubepods/besteffort/pod${uid}/${cid}`;
    const r = parsePodCgroup(`12:memory:${p}\n13:misc:${p}\n1:name=systemd:${p}\n0::/\n`);
    assert.deepEqual(r, { podUid: uid, containerId: cid, qos: 'besteffort', version: 1, hierarchy: 'misc', path: p });
  });
  it('the pod sandbox itself and conmon scopes give no container', () => {
    const slice = `/kubepods.slice/kubepods-pod${uid.replace(/-/g, '_')}.slice`;
    assert.deepEqual(parsePodCgroup(`0::${slice}/crio-conmon-${cid}.scope\n`), { podUid: uid, containerId: null, qos: 'guaranteed', version: 2, hierarchy: '', path: slice });
  });
  it('host processes are not in a pod', () => {
    assert.equal(parsePodCgroup('0::/system.slice/aesmd.service\n'), null);
    assert.equal(parsePodCgroup('0::/init.scope\n'), null);
    assert.equal(parsePodCgroup(''), null);
    assert.equal(parsePodCgroup('garbage'), null);
  });
});
