// Discovery on fixture host trees (test/fixtures/node/hosts, README there): the device nodes are
// real character devices made with mknod in a temporary host root.
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discover, epcCapacityBytes, nodeLabels, parseCpuinfo, parseDpkgStatus, type SgxDiscovery } from '../../src/node/index.js';
import { makeHostTree, type HostTree } from './host-tree.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('discovery on fixture hosts', () => {
  const trees: Record<string, HostTree> = {};
  const found: Record<string, SgxDiscovery> = {};
  before(async () => {
    for (const h of ['dcsv2', 'dcsv3', 'legacy-isgx', 'dcap-1.33', 'no-sgx']) {
      trees[h] = await makeHostTree(h);
      found[h] = discover(trees[h].root);
    }
  });
  after(async () => {
    for (const t of Object.values(trees)) await t.cleanup();
  });

  it('DCsv2 (DC8_v2): SGX1 with FLC, in-kernel driver, 168 MiB EPC on one NUMA node', () => {
    const d = found.dcsv2;
    assert.equal(d.sgx, true);
    assert.equal(d.flc, true);
    assert.equal(d.sgx2, false);
    assert.equal(d.driver, 'inkernel');
    assert.equal(d.cpuModel, 'Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz');
    assert.deepEqual(d.epc, { totalBytes: 168 * MiB, numa: [{ node: 0, bytes: 168 * MiB }], source: 'sysfs' });
    assert.equal(d.devices.enclave, '/dev/sgx_enclave');
    assert.equal(d.devices.provision, '/dev/sgx_provision');
    assert.equal(d.devices.vepc, '/dev/sgx_vepc');
    assert.deepEqual(d.devices.found.map((x) => [x.path, x.major, x.minor]), [['/dev/sgx_enclave', 10, 125], ['/dev/sgx_provision', 10, 126], ['/dev/sgx_vepc', 10, 124]]);
    assert.equal(d.kernel, '5.15.0-1057-azure');
    assert.deepEqual(d.aesmd, { socket: null });
    assert.deepEqual(d.miscCgroup, { sgxEpc: false, capacityBytes: null });
    assert.deepEqual(d.packages, { 'libsgx-enclave-common': '2.24.100.3-jammy1' });
    assert.deepEqual(d.notes, []);
    assert.deepEqual(nodeLabels(d), {
      'confkube.io/sgx': 'true', 'confkube.io/sgx-flc': 'true', 'confkube.io/epc-mib': '168', 'confkube.io/sgx-driver': 'inkernel',
      'confkube.io/aesmd': 'false', 'feature.node.kubernetes.io/cpu-security.sgx.enabled': 'true',
    });
    assert.equal(epcCapacityBytes(d), 176160768);
  });

  it('DCsv3 (DC48s_v3): SGX2, two NUMA nodes of 128 GiB, EPC cgroup, aesmd and PSW/DCAP packages', () => {
    const d = found.dcsv3;
    assert.equal(d.sgx, true);
    assert.equal(d.sgx2, true);
    assert.equal(d.flc, true);
    assert.equal(d.driver, 'inkernel');
    assert.deepEqual(d.epc, { totalBytes: 256 * GiB, numa: [{ node: 0, bytes: 128 * GiB }, { node: 1, bytes: 128 * GiB }], source: 'sysfs' });
    assert.equal(d.kernel, '6.8.0-1021-azure');
    assert.deepEqual(d.aesmd, { socket: '/var/run/aesmd/aesm.socket' });
    assert.deepEqual(d.miscCgroup, { sgxEpc: true, capacityBytes: 256 * GiB });
    // Installed SGX packages only: bash is not SGX, libsgx-urts is removed (config-files only).
    assert.deepEqual(d.packages, {
      'az-dcap-client': '1.12.3', 'libsgx-dcap-ql': '1.21.100.3-jammy1', 'libsgx-enclave-common': '2.24.100.3-jammy1', 'sgx-aesm-service': '2.24.100.3-jammy1',
    });
    assert.equal(nodeLabels(d)['confkube.io/epc-mib'], '262144');
    assert.equal(nodeLabels(d)['confkube.io/aesmd'], 'true');
    assert.equal(epcCapacityBytes(d), 274877906944);
  });

  it('legacy isgx host: SGX without FLC, /dev/isgx, EPC from CPUID leaf 0x12, no provisioning device', () => {
    const d = found['legacy-isgx'];
    assert.equal(d.sgx, true);
    assert.equal(d.flc, false);
    assert.equal(d.sgx2, false);
    assert.equal(d.driver, 'isgx');
    assert.equal(d.devices.enclave, '/dev/isgx');
    assert.equal(d.devices.provision, null);
    assert.deepEqual(d.epc, { totalBytes: 94 * MiB, numa: [], source: 'cpuid' });
    assert.equal(d.aesmd.socket, '/var/run/aesmd/aesm.socket');
    assert.equal(nodeLabels(d)['confkube.io/sgx-driver'], 'isgx');
    assert.equal(nodeLabels(d)['confkube.io/sgx-flc'], 'false');
    assert.equal(nodeLabels(d)['confkube.io/epc-mib'], '94');
  });

  it('old AKS DCAP 1.33 host: /dev/sgx/enclave and /dev/sgx/provision, driver dcap', () => {
    const d = found['dcap-1.33'];
    assert.equal(d.sgx, true);
    assert.equal(d.driver, 'dcap');
    assert.equal(d.devices.enclave, '/dev/sgx/enclave');
    assert.equal(d.devices.provision, '/dev/sgx/provision');
    assert.deepEqual(d.epc, { totalBytes: 168 * MiB, numa: [], source: 'cpuid' });
  });

  it('host without SGX: a normal answer, labels say so, no capacity to assert', () => {
    const d = found['no-sgx'];
    assert.equal(d.sgx, false);
    assert.equal(d.flc, false);
    assert.equal(d.sgx2, false);
    assert.equal(d.driver, 'none');
    assert.deepEqual(d.devices, { enclave: null, provision: null, vepc: null, found: [] });
    assert.deepEqual(d.epc, { totalBytes: 0, numa: [], source: 'none' });
    assert.deepEqual(d.notes, []);
    assert.deepEqual(nodeLabels(d), {
      'confkube.io/sgx': 'false', 'confkube.io/sgx-flc': 'false', 'confkube.io/epc-mib': null, 'confkube.io/sgx-driver': 'none',
      'confkube.io/aesmd': 'false', 'feature.node.kubernetes.io/cpu-security.sgx.enabled': null,
    });
    assert.equal(epcCapacityBytes(d), null);
  });

  it('an empty root (nothing readable) is an ordinary node, not an error', () => {
    const d = discover(join(trees['no-sgx'].root, 'does-not-exist'));
    assert.equal(d.sgx, false);
    assert.ok(d.notes.includes('proc/cpuinfo is not readable'));
  });
});

describe('device nodes must be character devices', () => {
  it('a regular file or a directory at /dev/sgx_enclave is not an SGX device (azure-docs#71783)', async () => {
    const t = await makeHostTree('no-sgx');
    try {
      // The CPU flag is there but the "device" is a plain file: not SGX, and said why.
      const cpuinfo = join(t.root, 'proc/cpuinfo');
      writeFileSync(cpuinfo, 'processor\t: 0\nflags\t\t: fpu sgx sgx_lc\n\n');
      mkdirSync(join(t.root, 'dev'), { recursive: true });
      writeFileSync(join(t.root, 'dev/sgx_enclave'), '');
      mkdirSync(join(t.root, 'dev/sgx'), { recursive: true });
      let d = discover(t.root);
      assert.equal(d.sgx, false);
      assert.ok(d.notes.includes('/dev/sgx_enclave exists but is not a character device'), d.notes.join('; '));
      assert.ok(d.notes.some((n) => n.includes('no enclave device node')));
      t.mknod('/dev/sgx/enclave', 10, 57);
      d = discover(t.root);
      assert.equal(d.sgx, true);
      assert.equal(d.devices.enclave, '/dev/sgx/enclave');
    } finally {
      await t.cleanup();
    }
  });
});

describe('parsers', () => {
  it('cpuinfo: flags of the first CPU, model name, CPU count', () => {
    const c = parseCpuinfo('processor\t: 0\nmodel name\t: X\nflags\t\t: fpu sgx\n\nprocessor\t: 1\nmodel name\t: X\nflags\t\t: fpu sgx\n');
    assert.deepEqual(c, { sgx: true, flc: false, modelName: 'X', logicalCpus: 2 });
    // `sgx_lc` alone must not be read as `sgx` (whole-word flags).
    assert.equal(parseCpuinfo('flags\t: sgx_lc\n').sgx, false);
  });

  it('dpkg status: installed SGX packages only', () => {
    const s = 'Package: libsgx-urts\nStatus: install ok installed\nVersion: 2.1\n\nPackage: libsgx-ae-qe3\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1\n';
    assert.deepEqual(parseDpkgStatus(s), { 'libsgx-urts': '2.1' });
  });
});
