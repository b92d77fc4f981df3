import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWebhookServer } from '../../src/admission/index.js';
import { committed, type Obj } from './helpers.js';

// The shipped registrations (the chart rendered into deploy/, which chart.test.ts keeps equal to the chart),
// checked against what the webhook serves and against the failure-policy rules in docs/admission-webhook.md:
// Fail only for labelled SGX objects, Ignore for everything else, system namespaces and the webhook's own
// namespace never sent to it.
const configs = committed('webhook-configurations.yaml');
const objects = [...committed('webhook.yaml'), ...committed('tls.yaml')];

const KINDS: Record<string, string> = { pods: '', deployments: 'apps', statefulsets: 'apps', daemonsets: 'apps', replicasets: 'apps', jobs: 'batch', cronjobs: 'batch' };

test('every registration: v1 reviews, no side effects, a served path, system namespaces excluded, the failure policy docs/admission-webhook.md gives', async () => {
  const app = createWebhookServer();
  try {
    assert.deepEqual(configs.map((c) => c.kind), ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
    for (const cfg of configs) {
      assert.equal(cfg.webhooks.length, 2, cfg.kind);
      for (const w of cfg.webhooks) {
        const where = `${cfg.kind} ${w.name}`;
        assert.deepEqual(w.admissionReviewVersions, ['v1'], where);
        assert.equal(w.sideEffects, 'None', where);
        assert.ok(w.timeoutSeconds >= 1 && w.timeoutSeconds <= 5, where);
        const path = w.clientConfig.service.path;
        assert.equal(path, cfg.kind.startsWith('Mutating') ? '/mutate' : '/validate', where);
        const served = await app.inject({ method: 'POST', url: path, payload: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } } });
        assert.equal(served.statusCode, 200, where);
        const excluded = w.namespaceSelector.matchExpressions.find((e: Obj) => e.key === 'kubernetes.io/metadata.name');
        assert.equal(excluded.operator, 'NotIn', where);
        for (const ns of ['kube-system', 'kube-node-lease', 'confkube']) assert.ok(excluded.values.includes(ns), `${where} excludes ${ns}`);
        const sel = w.objectSelector.matchExpressions.find((e: Obj) => e.key === 'confkube.io/sgx');
        if (sel.operator === 'In') assert.equal(w.failurePolicy, 'Fail', `${where}: a labelled SGX object never starts without its devices`);
        else assert.equal(w.failurePolicy, 'Ignore', `${where}: an outage never blocks ordinary objects`);
        assert.deepEqual(sel.values, ['true'], where);
        // Every kind the webhook admits, in its API group; pods on CREATE only (their containers are immutable).
        const seen = new Set<string>();
        for (const r of w.rules) {
          for (const res of r.resources) {
            assert.ok(res in KINDS, `${where}: ${res}`);
            assert.deepEqual(r.apiGroups, [KINDS[res]], `${where}: ${res}`);
            assert.deepEqual(r.operations, res === 'pods' ? ['CREATE'] : ['CREATE', 'UPDATE'], `${where}: ${res}`);
            seen.add(res);
          }
        }
        assert.deepEqual([...seen].sort(), Object.keys(KINDS).sort(), where);
      }
      // Both registrations of a configuration cover complementary label selections: every object is sent once.
      const ops = cfg.webhooks.map((w: Obj) => w.objectSelector.matchExpressions[0].operator).sort();
      assert.deepEqual(ops, ['In', 'NotIn'], cfg.kind);
    }
    const mutating = configs[0].webhooks;
    for (const w of mutating) assert.equal(w.reinvocationPolicy, 'IfNeeded', 'the patch is idempotent, so later mutators may re-run it');
  } finally {
    await app.close();
  }
});

test('the Deployment, Service and certificate agree with each other and with the registrations', () => {
  const byKind = (k: string) => objects.filter((o) => o.kind === k);
  const [svc] = byKind('Service');
  const [dep] = byKind('Deployment');
  const cert = byKind('Certificate').find((c) => c.spec.secretName === 'confkube-webhook-tls') as Obj;
  for (const cfg of configs) {
    for (const w of cfg.webhooks) {
      assert.equal(w.clientConfig.service.name, svc.metadata.name);
      assert.equal(w.clientConfig.service.namespace, svc.metadata.namespace);
      assert.equal(w.clientConfig.service.port, svc.spec.ports[0].port);
    }
    assert.equal(cfg.metadata.annotations['cert-manager.io/inject-ca-from'], `${cert.metadata.namespace}/${cert.metadata.name}`);
  }
  assert.ok(cert.spec.dnsNames.includes(`${svc.metadata.name}.${svc.metadata.namespace}.svc`), 'the serving cert is valid for <svc>.<ns>.svc');
  const c = dep.spec.template.spec.containers[0];
  const args: string[] = c.args;
  assert.equal(args[0], 'webhook');
  const port = Number(args.find((a) => a.startsWith('--port='))?.slice('--port='.length));
  const named = c.ports.find((p: Obj) => p.name === svc.spec.ports[0].targetPort);
  assert.equal(named.containerPort, port, 'the Service reaches the port the webhook listens on');
  assert.equal(c.readinessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
  assert.ok(dep.spec.replicas >= 2, 'an SGX pod is refused while no replica answers: run more than one');
  const tlsVolume = dep.spec.template.spec.volumes.find((v: Obj) => v.secret);
  assert.equal(tlsVolume.secret.secretName, cert.spec.secretName);
  const [role] = byKind('ClusterRole');
  // Read-only, and only the calls the webhook makes: a node informer, and gets of namespaces and ConfigMaps.
  assert.deepEqual(role.rules.map((r: { resources: string[]; verbs: string[] }) => [r.resources, r.verbs]), [[['nodes'], ['list', 'watch']], [['namespaces', 'configmaps'], ['get']]]);
  // The issuer of the serving certificate is a CA (cainjector copies its ca.crt), not a self-signed leaf.
  const issuer = byKind('Issuer').find((i) => i.metadata.name === cert.spec.issuerRef.name) as Obj;
  const ca = byKind('Certificate').find((c) => c.spec.secretName === issuer.spec.ca?.secretName) as Obj;
  assert.equal(ca.spec.isCA, true);
});
