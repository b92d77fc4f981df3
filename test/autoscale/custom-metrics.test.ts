// The custom metrics API against values computed here: the agent's own exposition (NodeMetrics) parsed back,
// every path and selector form the HPA's REST metrics client sends, in both API versions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NodeMetrics, podInfos } from '../../src/node/metrics.js';
import type { ProcScan } from '../../src/node/proc-scan.js';
import { parsePodEpc, usedBytes } from '../../src/autoscale/prom-text.js';
import { handleMetrics, METRICS, type ClusterSource, type PodView } from '../../src/autoscale/custom-metrics.js';
import { MetricsRequestError } from '../../src/autoscale/errors.js';
import { matches, parseSelector, selectorString } from '../../src/autoscale/label-selector.js';
import type { TimedSample } from '../../src/autoscale/gather.js';

const MIB = 1024 * 1024;
const AT = Date.parse('2026-11-30T12:00:00Z');

interface Fake {
  name: string;
  uid: string;
  labels: Record<string, string>;
  requestMiB: number;
  /** EPC charged to the cgroup per container (MiB), or null where there is no EPC cgroup. */
  cgroupMiB: number[] | null;
  mappedMiB: number[];
}

const fakes: Fake[] = [
  { name: 'web-a', uid: 'aaaaaaaa-0000-4000-8000-000000000001', labels: { app: 'web', tier: 'front' }, requestMiB: 64, cgroupMiB: [16, 8], mappedMiB: [40, 8] },
  { name: 'web-b', uid: 'aaaaaaaa-0000-4000-8000-000000000002', labels: { app: 'web', tier: 'back' }, requestMiB: 128, cgroupMiB: null, mappedMiB: [96] },
  { name: 'db-a', uid: 'aaaaaaaa-0000-4000-8000-000000000003', labels: { app: 'db' }, requestMiB: 32, cgroupMiB: [32], mappedMiB: [32] },
  { name: 'web-c', uid: 'aaaaaaaa-0000-4000-8000-000000000004', labels: { app: 'web', tier: 'front' }, requestMiB: 64, cgroupMiB: null, mappedMiB: [] },
];

async function agentText(): Promise<string> {
  const m = new NodeMetrics('sgx-0');
  const pods = fakes.map((f) => ({
    metadata: { name: f.name, namespace: 'shop', uid: f.uid },
    spec: { containers: f.mappedMiB.map((_, i) => ({ name: `c${i}`, resources: { limits: { 'sgx.intel.com/epc': `${f.requestMiB / f.mappedMiB.length}Mi` } } })) },
    status: { phase: 'Running', containerStatuses: f.mappedMiB.map((_, i) => ({ name: `c${i}`, containerID: `containerd://${f.uid.slice(-4)}${i}` })) },
  }));
  const scan: ProcScan = {
    scanned: 100, enclaveProcesses: 4, totalMappedBytes: 0, host: { mappedBytes: 0, processes: 0 },
    pods: fakes.filter((f) => f.mappedMiB.length).map((f) => ({
      podUid: f.uid, qos: 'guaranteed', mappedBytes: 0, processes: 1, miscCurrentBytes: null,
      containers: f.mappedMiB.map((mb, i) => ({ containerId: `${f.uid.slice(-4)}${i}`, mappedBytes: mb * MIB, processes: 1, miscCurrentBytes: f.cgroupMiB ? f.cgroupMiB[i]! * MIB : null })),
    })),
  } as ProcScan;
  m.setUsage(256 * 1024 * MIB, scan, podInfos(pods), 0.01);
  return m.text();
}

async function samples(): Promise<Map<string, TimedSample>> {
  return new Map(parsePodEpc(await agentText()).map((s) => [s.podUid, { ...s, node: 'sgx-0', at: AT }]));
}

function cluster(): ClusterSource {
  const view = (f: Fake): PodView => ({ namespace: 'shop', name: f.name, uid: f.uid, requestBytes: f.requestMiB * MIB });
  return {
    async listPods(ns, selector) {
      const reqs = parseSelector(selector, 'labelSelector');
      return ns === 'shop' ? fakes.filter((f) => matches(reqs, f.labels)).map(view) : [];
    },
    async objectPods(ns, resource, name) {
      if (resource === 'deployments.apps' && name === 'web') return this.listPods(ns, 'app=web');
      if (resource === 'pods') {
        const f = fakes.find((x) => x.name === name);
        if (f) return [view(f)];
      }
      throw new MetricsRequestError('ERR_METRICS_NOT_FOUND', `${resource} ${name} not found`, 404);
    },
  };
}

async function get(path: string, query: Record<string, string> = {}) {
  const s = await samples();
  return handleMetrics(path, new URLSearchParams(query), { cluster: cluster(), samples: { get: (u) => s.get(u) }, windowSeconds: 15 });
}

type Item = { describedObject: { kind: string; name: string; namespace: string; apiVersion: string }; value: string; metric?: { name: string; selector: unknown }; metricName?: string; window?: number; windowSeconds?: number; timestamp: string; selector?: unknown };
const items = (a: { body: unknown }): Item[] => (a.body as { items: Item[] }).items;
const used = (f: Fake): number => (f.cgroupMiB ? f.cgroupMiB.reduce((a, b) => a + b, 0) : f.mappedMiB.reduce((a, b) => a + b, 0)) * MIB;

describe('agent metrics parsed back', () => {
  it('per pod: cgroup EPC summed over containers where the kernel counts it, else enclave mappings', async () => {
    const s = await samples();
    for (const f of fakes.filter((x) => x.mappedMiB.length)) {
      const got = s.get(f.uid);
      assert.ok(got, f.name);
      assert.equal(got.pod, f.name);
      assert.equal(got.namespace, 'shop');
      assert.equal(usedBytes(got), used(f), f.name);
    }
    assert.equal(s.has(fakes[3]!.uid), false, 'a pod without enclaves has no series');
  });

  it('refuses a broken sample line with a typed error', () => {
    assert.throws(() => parsePodEpc('confkube_sgx_pod_epc_mapped_bytes{pod_uid="x" 12\n'), { code: 'ERR_AUTOSCALE_SCRAPE' });
    assert.throws(() => parsePodEpc('confkube_sgx_pod_epc_mapped_bytes{pod_uid="x"} -3\n'), { code: 'ERR_AUTOSCALE_SCRAPE' });
  });
});

describe('custom.metrics.k8s.io', () => {
  it('discovery: both versions list every metric for pods and the workloads', async () => {
    for (const v of ['v1beta2', 'v1beta1']) {
      const a = await get(`/apis/custom.metrics.k8s.io/${v}`);
      assert.equal(a.status, 200);
      const body = a.body as { kind: string; groupVersion: string; resources: { name: string; kind: string; namespaced: boolean }[] };
      assert.equal(body.kind, 'APIResourceList');
      assert.equal(body.groupVersion, `custom.metrics.k8s.io/${v}`);
      for (const m of Object.values(METRICS)) {
        assert.ok(body.resources.some((r) => r.name === `pods/${m}` && r.kind === 'MetricValueList' && r.namespaced));
        assert.ok(body.resources.some((r) => r.name === `deployments.apps/${m}`));
      }
    }
  });

  it('v1beta2 pods/* with the HPA\'s labelSelector: utilisation per pod, MetricValue v1beta2 shape', async () => {
    const a = await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_utilization', { labelSelector: 'app=web' });
    assert.equal(a.status, 200);
    assert.equal((a.body as { kind: string; apiVersion: string }).apiVersion, 'custom.metrics.k8s.io/v1beta2');
    const got = items(a);
    // web-c has no enclave yet: no sample, so no value (the HPA treats it as missing).
    assert.deepEqual(got.map((i) => i.describedObject.name).sort(), ['web-a', 'web-b']);
    for (const i of got) {
      const f = fakes.find((x) => x.name === i.describedObject.name)!;
      assert.equal(i.value, `${Math.round((used(f) / (f.requestMiB * MIB)) * 1000)}m`);
      assert.deepEqual(i.describedObject, { kind: 'Pod', namespace: 'shop', name: f.name, apiVersion: 'v1' });
      assert.deepEqual(i.metric, { name: 'sgx_epc_utilization', selector: null });
      assert.equal(i.windowSeconds, 15);
      assert.equal(i.timestamp, '2026-11-30T12:00:00Z');
    }
  });

  it('v1beta1 pods/*: metricName, window and selector at the item\'s top level; set-based selectors', async () => {
    const a = await get('/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/*/sgx_epc_used_bytes', { labelSelector: 'app in (web,db),tier!=back' });
    const got = items(a);
    assert.deepEqual(got.map((i) => i.describedObject.name).sort(), ['db-a', 'web-a']);
    for (const i of got) {
      assert.equal(i.metricName, 'sgx_epc_used_bytes');
      assert.equal(i.window, 15);
      assert.equal(i.selector, null);
      assert.equal(i.value, String(used(fakes.find((x) => x.name === i.describedObject.name)!)));
    }
  });

  it('requested bytes come from the pod spec, for pods without enclaves too', async () => {
    const got = items(await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_requested_bytes', { labelSelector: 'tier=front' }));
    assert.deepEqual(got.map((i) => [i.describedObject.name, i.value]).sort(), [['web-a', String(64 * MIB)], ['web-c', String(64 * MIB)]]);
  });

  it('object form: a Deployment sums its pods (utilisation over the pods sampled); a pod by name', async () => {
    const web = fakes.filter((f) => f.labels.app === 'web' && f.mappedMiB.length);
    const u = web.reduce((a, f) => a + used(f), 0) / web.reduce((a, f) => a + f.requestMiB * MIB, 0);
    const d = items(await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/deployments.apps/web/sgx_epc_utilization'));
    assert.equal(d.length, 1);
    assert.deepEqual(d[0]!.describedObject, { kind: 'Deployment', namespace: 'shop', name: 'web', apiVersion: 'apps/v1' });
    assert.equal(d[0]!.value, `${Math.round(u * 1000)}m`);
    const p = items(await get('/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/pods/db-a/sgx_epc_used_bytes'));
    assert.equal(p[0]!.value, String(32 * MIB));
  });

  it('metricLabelSelector: EPC series have no labels, so only selectors that accept none keep them', async () => {
    const path = '/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_used_bytes';
    const none = items(await get(path, { labelSelector: 'app=web', metricLabelSelector: 'container=c0' }));
    assert.equal(none.length, 0);
    const all = items(await get(path, { labelSelector: 'app=web', metricLabelSelector: '!container' }));
    assert.equal(all.length, 2);
    assert.deepEqual(all[0]!.metric!.selector, { matchExpressions: [{ key: 'container', operator: 'DoesNotExist' }] });
  });

  it('bad requests: 404 for unknown metric, resource or version, 400 for a broken selector', async () => {
    assert.equal((await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/cpu')).status, 404);
    assert.equal((await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/services/x/sgx_epc_used_bytes')).status, 404);
    assert.equal((await get('/apis/custom.metrics.k8s.io/v2/namespaces/shop/pods/*/sgx_epc_used_bytes')).status, 404);
    assert.equal((await get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods')).status, 404);
    await assert.rejects(get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_used_bytes', { labelSelector: 'app in ()' }), { code: 'ERR_METRICS_BAD_REQUEST' });
    await assert.rejects(get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/*/sgx_epc_used_bytes', { labelSelector: 'a=b=c' }), { code: 'ERR_METRICS_BAD_REQUEST' });
    await assert.rejects(get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/shop/pods/nope/sgx_epc_used_bytes'), { code: 'ERR_METRICS_NOT_FOUND' });
  });
});

describe('label selectors', () => {
  const key = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
  const labels = fc.dictionary(key, fc.stringMatching(/^[a-z0-9]{1,5}$/), { maxKeys: 4 });
  it('a workload selector round-trips through its string form (matchLabels and expressions select the same pods)', () => {
    fc.assert(fc.property(fc.dictionary(key, fc.stringMatching(/^[a-z0-9]{1,5}$/), { minKeys: 1, maxKeys: 3 }), key, labels, (ml, absent, l) => {
      const s = selectorString({ matchLabels: ml, matchExpressions: [{ key: `x${absent}`, operator: 'DoesNotExist' }] });
      const expected = Object.entries(ml).every(([k, v]) => l[k] === v) && !Object.hasOwn(l, `x${absent}`);
      return matches(parseSelector(s, 's'), l) === expected;
    }));
  });
});
