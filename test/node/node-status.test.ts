// Labels and EPC capacity through @kubernetes/client-node against a kube-apiserver test peer
// (apiserver-peer.ts: no control plane can run here; the peer serves HTTPS with a self-signed
// certificate, exact Node JSON, PATCH per content type, the /status subresource and a watch).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, loadKubeConfig, NodeStatusReconciler, type Logger } from '../../src/node/index.js';
import { ApiServerPeer } from '../../support/apiserver-peer.js';

const EPC = 'sgx.intel.com/epc';
const LABELS = {
  'confkube.io/sgx': 'true', 'confkube.io/sgx-flc': 'true', 'confkube.io/epc-mib': '168', 'confkube.io/sgx-driver': 'inkernel',
  'confkube.io/aesmd': 'false', 'feature.node.kubernetes.io/cpu-security.sgx.enabled': 'true',
};

function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

const labelsOf = (api: ApiServerPeer): Record<string, string> => ((api.node?.metadata as { labels: Record<string, string> }).labels);
const capacityOf = (api: ApiServerPeer): Record<string, string> => ((api.node?.status as { capacity: Record<string, string> }).capacity);

describe('labels and EPC capacity on an SGX node', () => {
  let api: ApiServerPeer;
  let rec: NodeStatusReconciler;
  const log = captureLogger();

  before(async () => {
    api = new ApiServerPeer('aks-acc-0', { 'confkube.io/stale': 'x' });
    await api.start();
    rec = new NodeStatusReconciler({
      kubeConfig: loadKubeConfig(api.kubeconfig()), nodeName: 'aks-acc-0', labels: { ...LABELS, 'confkube.io/stale': null }, epcBytes: 176160768,
      resyncMs: 600_000, backoff: { initialMs: 50, maxMs: 200 }, logger: log.logger,
    });
    rec.start();
    await rec.ready;
  });
  after(async () => {
    await rec.stop();
    await api.cleanup();
  });

  it('patches the labels with a strategic-merge patch on the Node (removing stale ones)', () => {
    const patch = api.requests.find((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/aks-acc-0')!;
    assert.equal(patch.contentType, 'application/strategic-merge-patch+json');
    assert.deepEqual(patch.body, { metadata: { labels: { ...LABELS, 'confkube.io/stale': null } } });
    const labels = labelsOf(api);
    for (const [k, v] of Object.entries(LABELS)) assert.equal(labels[k], v, k);
    assert.equal(labels['confkube.io/stale'], undefined);
    assert.equal(labels['kubernetes.io/hostname'], 'aks-acc-0', 'other labels kept');
  });

  it('asserts sgx.intel.com/epc in bytes with a JSON patch on the /status subresource', () => {
    const patch = api.requests.find((r) => r.method === 'PATCH' && r.path === '/api/v1/nodes/aks-acc-0/status')!;
    assert.equal(patch.contentType, 'application/json-patch+json');
    assert.deepEqual(patch.body, [{ op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: '176160768' }]);
    assert.equal(capacityOf(api)[EPC], '176160768');
    assert.equal(capacityOf(api).cpu, '8', 'the rest of capacity kept');
    assert.equal(rec.capacityPatches, 1);
  });

  it('watches the Node instead of polling it', async () => {
    await api.waitFor('watch open', () => api.openWatches === 1);
    const watch = api.requests.find((r) => r.path === '/api/v1/nodes' && r.query.watch === 'true')!;
    assert.equal(watch.query.fieldSelector, 'metadata.name=aks-acc-0');
    assert.ok(Number(watch.query.resourceVersion) > 0);
  });

  it('re-asserts capacity when the kubelet zeroes extended resources, from the watch alone', async () => {
    const gets = api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes/aks-acc-0').length;
    api.kubeletReconcile();
    assert.equal(capacityOf(api)[EPC], '0');
    // The peer applies the patch before the client has its answer: wait for both sides.
    await api.waitFor('capacity back', () => capacityOf(api)[EPC] === '176160768' && rec.capacityPatches === 2);
    assert.equal(api.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/nodes/aks-acc-0').length, gets, 'no extra GET: the event carried the Node');
    assert.ok(log.lines.some((l) => l.msg === 'EPC capacity was missing or changed; re-asserted' && l.found === 0));
  });

  it('an unrelated Node change patches nothing', async () => {
    const patches = api.requests.filter((r) => r.method === 'PATCH').length;
    api.touch('topology.kubernetes.io/zone', 'westeurope-1');
    // A second change after it proves the first event was processed (events are handled in order).
    api.kubeletReconcile();
    await api.waitFor('capacity back', () => capacityOf(api)[EPC] === '176160768');
    assert.equal(api.requests.filter((r) => r.method === 'PATCH').length, patches + 1);
  });

  it('re-asserts labels and capacity when the Node is deleted and re-created', async () => {
    api.recreateNode();
    assert.equal(capacityOf(api)[EPC], undefined);
    await api.waitFor('labels and capacity back', () => capacityOf(api)[EPC] === '176160768' && labelsOf(api)['confkube.io/sgx'] === 'true');
    assert.equal(labelsOf(api)['confkube.io/epc-mib'], '168');
  });

  it('a changed desired state (aesmd appeared) is applied', async () => {
    rec.update({ ...LABELS, 'confkube.io/aesmd': 'true' }, 176160768);
    await api.waitFor('aesmd label', () => labelsOf(api)['confkube.io/aesmd'] === 'true');
  });
});

describe('API server down', () => {
  it('logs a clear message, retries with backoff, and converges when the API server comes up', async () => {
    const api = new ApiServerPeer('aks-acc-1');
    await api.reservePort();
    const log = captureLogger();
    const rec = new NodeStatusReconciler({
      kubeConfig: loadKubeConfig(api.kubeconfig()), nodeName: 'aks-acc-1', labels: LABELS, epcBytes: 1024, backoff: { initialMs: 30, maxMs: 100 }, logger: log.logger,
    });
    try {
      rec.start();
      await api.waitFor('two failed attempts', () => log.lines.filter((l) => l.msg === 'cannot reach or update the Node through the API server; will retry').length >= 2);
      const line = log.lines.find((l) => String(l.msg).startsWith('cannot reach'))!;
      assert.equal(line.level, 'warn');
      assert.equal(line.node, 'aks-acc-1');
      assert.match(String(line.reason), /ECONNREFUSED|connect/i);
      await api.start();
      await rec.ready;
      await api.waitFor('capacity', () => capacityOf(api)[EPC] === '1024');
      assert.ok(log.lines.some((l) => l.msg === 'API server reachable again'));
      // The API server goes away again while watching: the agent re-reads and re-watches when it is back.
      await api.stop();
      await api.start();
      api.kubeletReconcile();
      await api.waitFor('capacity after restart', () => capacityOf(api)[EPC] === '1024');
    } finally {
      await rec.stop();
      await api.cleanup();
    }
  });

  it('a wrong token is an HTTP 401 in the log, retried', async () => {
    const api = new ApiServerPeer('aks-acc-2');
    await api.start();
    const kc = loadKubeConfig(api.kubeconfig());
    kc.users[0] = { ...kc.users[0], token: 'wrong' } as typeof kc.users[0];
    const log = captureLogger();
    const rec = new NodeStatusReconciler({ kubeConfig: kc, nodeName: 'aks-acc-2', labels: LABELS, epcBytes: 1024, backoff: { initialMs: 30, maxMs: 60 }, logger: log.logger });
    try {
      rec.start();
      await api.waitFor('401 logged', () => log.lines.some((l) => /HTTP 401/.test(String(l.reason))));
      assert.equal(labelsOf(api)['confkube.io/sgx'], undefined);
    } finally {
      await rec.stop();
      await api.cleanup();
    }
  });
});
