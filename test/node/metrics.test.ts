// Prometheus output of the node agent: values per pod from the fixture /proc and a pod list,
// and the exposition checked by the format checker and, where installed (CI), `promtool check metrics`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { discover, NodeMetrics, podEpcRequestBytes, podInfos, scanProc, type PodLike } from '../../src/node/index.js';
import { FIXTURES, makeHostTree, type HostTree } from './host-tree.js';
import { checkExposition, expositionProblems } from '../helpers/exposition.js';

const MiB = 1024 * 1024;
const ids = JSON.parse(readFileSync(join(FIXTURES, 'proc-scan/ids.json'), 'utf8')) as Record<string, { uid: string; container?: string; containers?: string[] }>;

function pod(name: string, uid: string, containers: { name: string; epc?: string; id?: string; alias?: string }[], phase = 'Running'): PodLike {
  return {
    metadata: { name, namespace: 'enclaves', uid },
    spec: {
      nodeName: 'aks-dc-0',
      containers: containers.map((c) => ({
        name: c.name,
        resources: { limits: { ...(c.epc ? { 'sgx.intel.com/epc': c.epc } : {}), ...(c.alias ? { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': c.alias } : {}) } },
      })),
    },
    status: { phase, containerStatuses: containers.filter((c) => c.id).map((c) => ({ name: c.name, containerID: `containerd://${c.id}` })) } as PodLike['status'],
  };
}

describe('node metrics', () => {
  let tree: HostTree;
  let text: string;
  before(async () => {
    tree = await makeHostTree('dcsv3');
    const d = discover(tree.root);
    const m = new NodeMetrics('aks-dc-0');
    m.setDiscovery(d);
    m.setPluginHealth('sgx.intel.com/enclave', true);
    m.countRegistration('sgx.intel.com/enclave');
    m.countCapacityPatch();
    const pods = [
      pod('a', ids.podA.uid, [{ name: 'app', epc: '100Mi', id: ids.podA.container }]),
      pod('b', ids.podB.uid, [{ name: 'gramine', epc: '256Mi', id: ids.podB.container }]),
      pod('c', ids.podC.uid, [{ name: 'occlum', epc: '16Mi', id: ids.podC.containers![0] }, { name: 'side"car\\x', alias: '32', id: ids.podC.containers![1] }]),
      pod('done', '11111111-2222-4333-8444-555555555555', [{ name: 'x', epc: '1Gi' }], 'Succeeded'),
    ];
    m.setUsage(d.epc.totalBytes, scanProc(join(FIXTURES, 'proc-scan')), podInfos(pods), 0.004);
    text = await m.text();
  });
  after(async () => {
    await tree.cleanup();
  });

  const sample = (name: string, labels: Record<string, string>): number | undefined => {
    for (const line of text.split('\n')) {
      if (!line.startsWith(name + '{')) continue;
      const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
      if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  };

  it('node totals: capacity per node and NUMA node, requested, mapped, pressure', () => {
    assert.equal(sample('confkube_sgx_epc_capacity_bytes', { node: 'aks-dc-0' }), 274877906944);
    assert.equal(sample('confkube_sgx_epc_numa_capacity_bytes', { numa_node: '1' }), 137438953472);
    // Finished pods hold nothing; the alias counts in MiB.
    assert.equal(sample('confkube_sgx_epc_requested_bytes', {}), (100 + 256 + 16 + 32) * MiB);
    assert.equal(sample('confkube_sgx_epc_mapped_bytes', {}), 507 * MiB);
    assert.equal(sample('confkube_sgx_epc_host_mapped_bytes', {}), 3 * MiB);
    assert.equal(sample('confkube_sgx_epc_pressure_ratio', {}), (507 * MiB) / 274877906944);
    assert.equal(sample('confkube_sgx_node_info', { sgx2: 'true', driver: 'inkernel', epc_cgroup: 'true' }), 1);
  });

  it('per pod and container: mapped, usage (misc.current), processes, requested, with names from the pod list', () => {
    assert.equal(sample('confkube_sgx_pod_epc_mapped_bytes', { pod: 'a', container: 'app' }), 80 * MiB);
    assert.equal(sample('confkube_sgx_pod_epc_usage_bytes', { pod: 'a', container: 'app' }), 72 * MiB);
    assert.equal(sample('confkube_sgx_pod_enclave_processes', { pod: 'a', container: 'app' }), 2);
    assert.equal(sample('confkube_sgx_pod_epc_requested_bytes', { pod: 'a' }), 100 * MiB);
    assert.equal(sample('confkube_sgx_pod_epc_mapped_bytes', { pod: 'b' }), 256 * MiB);
    assert.equal(sample('confkube_sgx_pod_epc_usage_bytes', { pod: 'b' }), undefined, 'no EPC cgroup for pod b');
    assert.equal(sample('confkube_sgx_pod_epc_mapped_bytes', { pod: 'c', container: 'occlum' }), 8 * MiB);
    // Label values are escaped (exposition format: \\ and \").
    assert.ok(text.includes('container="side\\"car\\\\x"'), 'escaped container name');
    // A pod the API does not know (pod D) still shows up by UID.
    assert.equal(sample('confkube_sgx_pod_epc_mapped_bytes', { pod_uid: ids.podD.uid, pod: '' }), 128 * MiB);
  });

  it('passes the exposition checks (promtool check metrics where installed)', () => {
    assert.deepEqual(checkExposition(text).problems, []);
  });

  it('the exposition checks reject a broken exposition (the check can fail)', () => {
    const broken = '# TYPE x_total counter\nx_total{a="b"} 1\nx_total{a="b"} 2\n# TYPE x_total gauge\n';
    const { tools, problems } = checkExposition(broken);
    assert.ok(problems.some((p) => p.startsWith('format: ') && /duplicate series/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /second TYPE/.test(p)));
    if (tools.includes('promtool')) assert.ok(problems.some((p) => p.startsWith('promtool')));
    for (const bad of ['x{a="b} 1\n', 'x 1 2 3\n', 'x{1a="b"} 1\n', '# HELP x h\n# TYPE x gauge\nx one\n', '# HELP x h\n# TYPE x counter\nx 1\n', 'x 1']) {
      assert.notDeepEqual(expositionProblems(bad), [], JSON.stringify(bad));
    }
    assert.deepEqual(expositionProblems('# HELP x_total h\n# TYPE x_total counter\nx_total{a="q\\"\\\\",b="2"} 1 1700000000\n# HELP h h\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 0.5\nh_count 1\n'), []);
  });
});

describe('EPC requested by a pod', () => {
  it('follows the scheduler: max(app containers + sidecars, largest init container); aliases in MiB', () => {
    const p: PodLike = {
      spec: {
        initContainers: [
          { name: 'init', resources: { limits: { 'sgx.intel.com/epc': '300Mi' } } },
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { 'sgx.intel.com/epc': '10Mi' } } },
        ],
        containers: [
          { name: 'a', resources: { limits: { 'sgx.intel.com/epc': '64Mi' } } },
          { name: 'b', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '20' } } },
          { name: 'c', resources: { limits: { 'sgx.intel.com/epc': 'bogus' } } },
        ],
      },
    };
    assert.equal(podEpcRequestBytes(p), 300 * MiB);
    p.spec!.initContainers![0].resources!.limits!['sgx.intel.com/epc'] = '1Mi';
    assert.equal(podEpcRequestBytes(p), (10 + 64 + 20) * MiB);
    assert.equal(podEpcRequestBytes({}), 0);
  });
});
