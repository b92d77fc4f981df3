// The shared informer against the kube-apiserver test peer: list then watch, events without calls, a re-watch
// from the last resourceVersion after a dropped stream, and a re-list after 410 Gone (the history compacted while
// the client was away), with objects deleted meanwhile leaving the cache.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodePodInformer } from '../../src/node/pod-informer.js';
import { ApiServerPeer, type Json } from '../../support/apiserver-peer.js';

const pod = (name: string, node = 'n1'): Json => ({
  kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace: 'prod', uid: `uid-${name}` },
  spec: { nodeName: node, containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '8Mi' } } }] },
  status: { phase: 'Running' },
});

describe('Informer', () => {
  const api = new ApiServerPeer('n1');
  before(async () => {
    api.pods = [pod('a'), pod('b'), pod('elsewhere', 'n2')];
    await api.start();
  });
  after(() => api.cleanup());

  it('lists once by field selector, then follows the watch; a dropped watch resumes, a compacted history re-lists', async () => {
    const inf = nodePodInformer(api.kubeConfig(), 'n1', { backoff: { initialMs: 20, maxMs: 100 } });
    const names = () => inf.list().map((p) => p.metadata?.name).sort();
    try {
      await inf.start();
      assert.deepEqual(names(), ['a', 'b']);
      await api.waitFor('watching', () => inf.health().ok && api.count('watch', '/api/v1/pods') === 1);
      api.apply('pods', pod('c'));
      api.apply('pods', pod('other', 'n2'));
      await api.waitFor('c by watch', () => names().join() === 'a,b,c');
      assert.equal(api.count('list', '/api/v1/pods'), 1);
      // A stream that ends (load balancer, API-server timeout) is re-opened from the last version: no list.
      api.dropWatches();
      await api.waitFor('re-watched', () => api.count('watch', '/api/v1/pods') === 2);
      api.delete('pods', 'a', 'prod');
      await api.waitFor('a gone by watch', () => names().join() === 'b,c');
      assert.equal(api.count('list', '/api/v1/pods'), 1);
      const rv = Number(api.requests.filter((r) => r.verb === 'watch').at(-1)!.query.resourceVersion);
      assert.ok(rv > 0, 'the watch carries a resourceVersion');
      // The API server goes away; meanwhile pods change and etcd compacts: the old version is 410 Gone.
      await api.stop();
      await api.waitFor('loss reported', () => !inf.health().ok);
      api.delete('pods', 'b', 'prod');
      api.apply('pods', pod('d'));
      api.compact();
      await api.start();
      await api.waitFor('re-listed after 410', () => names().join() === 'c,d');
      assert.equal(api.count('list', '/api/v1/pods'), 2, 'exactly one re-list');
      await api.waitFor('healthy again', () => inf.health().ok);
      for (const w of api.requests.filter((r) => r.verb === 'watch')) {
        assert.equal(w.query.fieldSelector, 'spec.nodeName=n1');
        assert.equal(w.query.allowWatchBookmarks, 'true');
        assert.equal(w.query.timeoutSeconds, '300');
      }
    } finally {
      await inf.stop();
    }
  });
});
