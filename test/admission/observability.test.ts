// What an operator sees of the webhook: one structured log line per decision and Prometheus metrics by kind,
// decision and latency.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebhookServer, WebhookMetrics } from '../../src/admission/index.js';
import { createLogger } from '../../src/lib/log.js';
import { asKind, reviewFor } from './helpers.js';

test('one log line per decision (SGX and refusals at info, ordinary objects at debug) and metrics by kind and decision', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const metrics = new WebhookMetrics();
  const app = createWebhookServer({ metrics, log });
  const sgx = asKind('Deployment', { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10' } } }] } }, 'enclave-app');
  const plain = asKind('Pod', { spec: { containers: [{ name: 'c', image: 'x' }] } }, 'web');
  const bad = asKind('Pod', { metadata: { annotations: { 'confkube.io/mrsigner': 'zz' } }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '1Mi' } } }] } }, 'liar');
  try {
    for (const [obj, path] of [[sgx, '/mutate'], [plain, '/mutate'], [bad, '/validate']] as const) {
      const r = await app.inject({ method: 'POST', url: path, payload: reviewFor(obj) });
      assert.equal(r.statusCode, 200);
    }
    assert.equal(lines.length, 3, 'one line per review');
    const [a, b, c] = lines;
    assert.deepEqual({ level: a.level, msg: a.msg, mode: a.mode, decision: a.decision, sgx: a.sgx, kind: a.kind, name: a.name, namespace: a.namespace, patchOps: a.patchOps },
      { level: 'info', msg: 'admission decision', mode: 'mutate', decision: 'patched', sgx: true, kind: 'Deployment', name: 'enclave-app', namespace: 'default', patchOps: 3 });
    assert.equal(typeof a.durationMs, 'number');
    assert.deepEqual([b.level, b.decision, b.sgx], ['debug', 'allowed', false]);
    assert.deepEqual([c.level, c.decision, c.kind], ['info', 'denied', 'Pod']);
    assert.match(String(c.reason), /64 hex digits/);
    const text = await metrics.registry.metrics();
    assert.match(text, /confkube_webhook_reviews_total\{mode="mutate",kind="Deployment",decision="patched",sgx="true"\} 1/);
    assert.match(text, /confkube_webhook_reviews_total\{mode="mutate",kind="Pod",decision="allowed",sgx="false"\} 1/);
    assert.match(text, /confkube_webhook_reviews_total\{mode="validate",kind="Pod",decision="denied",sgx="true"\} 1/);
    assert.match(text, /confkube_webhook_review_duration_seconds_count\{mode="mutate",sgx="true"\} 1/);
    // A kind named by the request is a label value only if the webhook admits that kind.
    await app.inject({ method: 'POST', url: '/mutate', payload: reviewFor({ apiVersion: 'x/v1', kind: 'Whatever', metadata: { name: 'w' } }) });
    assert.match(await metrics.registry.metrics(), /kind="other",decision="allowed"/);
  } finally {
    await app.close();
  }
});
