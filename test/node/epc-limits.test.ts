// misc.max sgx_epc from EPC limits on the fixture host roots: both cgroup drivers, cgroup v2 and the v1 misc
// hierarchy, only what differs is written, and nothing where the kernel has no EPC cgroup.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyEpcLimits, miscBase } from '../../src/node/epc-limits.js';
import { FIXTURES } from './host-tree.js';

const ids = JSON.parse(readFileSync(join(FIXTURES, 'proc-scan/ids.json'), 'utf8')) as Record<string, { uid: string; container: string; containers: string[] }>;
const MiB = 2 ** 20;

describe('EPC limits into misc.max', () => {
  it('cgroup v2 (systemd and cgroupfs drivers) and v1 misc (systemd, guaranteed): written once, then unchanged', () => {
    const root = mkdtempSync(join(tmpdir(), 'ck-epc-limits-'));
    try {
      cpSync(join(FIXTURES, 'proc-scan/sys'), join(root, 'sys'), { recursive: true });
      assert.equal(miscBase(root), null, 'no misc.capacity: no enforcement');
      writeFileSync(join(root, 'sys/fs/cgroup/misc.capacity'), 'sgx_epc 274877906944\n');
      const v2 = miscBase(root)!;
      assert.equal(v2, join(root, 'sys/fs/cgroup'));
      const targets = [
        { podUid: ids.podA.uid, containerId: ids.podA.container, limitBytes: 100 * MiB },
        { podUid: ids.podC.uid, containerId: ids.podC.containers[1], limitBytes: 8 * MiB },
        { podUid: 'ffffffff-0000-0000-0000-000000000000', containerId: 'ab'.repeat(32), limitBytes: MiB },
      ];
      assert.deepEqual(applyEpcLimits(v2, targets), { written: 2, unchanged: 0, missing: 1, errors: [] });
      const a = join(v2, 'kubepods.slice/kubepods-burstable.slice', `kubepods-burstable-pod${ids.podA.uid.replace(/-/g, '_')}.slice`, `cri-containerd-${ids.podA.container}.scope/misc.max`);
      assert.equal(readFileSync(a, 'utf8'), `sgx_epc ${100 * MiB}\n`);
      assert.equal(readFileSync(join(v2, 'kubepods/burstable', `pod${ids.podC.uid}`, ids.podC.containers[1], 'misc.max'), 'utf8'), `sgx_epc ${8 * MiB}\n`);
      assert.deepEqual(applyEpcLimits(v2, targets), { written: 0, unchanged: 2, missing: 1, errors: [] });
      // A changed limit is written again.
      assert.equal(applyEpcLimits(v2, [{ ...targets[0], limitBytes: 50 * MiB }]).written, 1);
      assert.equal(readFileSync(a, 'utf8'), `sgx_epc ${50 * MiB}\n`);
      // cgroup v1: the misc hierarchy has its own misc.capacity.
      rmSync(join(root, 'sys/fs/cgroup/misc.capacity'));
      writeFileSync(join(root, 'sys/fs/cgroup/misc/misc.capacity'), 'sgx_epc 176160768\n');
      const v1 = miscBase(root)!;
      assert.equal(v1, join(root, 'sys/fs/cgroup/misc'));
      assert.deepEqual(applyEpcLimits(v1, [{ podUid: ids.podD.uid, containerId: ids.podD.container, limitBytes: 16 * MiB }]), { written: 1, unchanged: 0, missing: 0, errors: [] });
      assert.equal(readFileSync(join(v1, 'kubepods.slice', `kubepods-pod${ids.podD.uid.replace(/-/g, '_')}.slice`, `docker-${ids.podD.container}.scope`, 'misc.max'), 'utf8'), `sgx_epc ${16 * MiB}\n`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a misc.capacity without sgx_epc (a kernel whose misc controller has other resources only) is no enforcement', () => {
    const root = mkdtempSync(join(tmpdir(), 'ck-epc-limits-'));
    try {
      cpSync(join(FIXTURES, 'proc-scan/sys'), join(root, 'sys'), { recursive: true });
      writeFileSync(join(root, 'sys/fs/cgroup/misc.capacity'), 'res_a 50\nres_b 10\n');
      assert.equal(miscBase(root), null);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
