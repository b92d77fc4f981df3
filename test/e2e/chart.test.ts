// Every object the chart and the plain manifests render is validated by the real API server
// (`kubectl apply --dry-run=server`): schemas, defaulting, admission (including the ValidatingAdmissionPolicy
// objects themselves, CEL compiled by the API server), for each way the chart is meant to be installed. The
// cert-manager and Prometheus operator kinds are checked against those projects' real CRDs (scripts/build-k8s.sh
// fetches them), not against a client-side model.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, startControlPlane, type ControlPlane } from './harness/control-plane.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'deploy/helm/confkube');
let cp: ControlPlane;

function helm(args: string[]): string {
  return execFileSync(join(cp.bin, 'helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

function dryRun(manifests: string, namespace: string): string {
  // The release namespace comes from the kubeconfig's context (as `helm install -n` gives it to objects without
  // one): an explicit -n would refuse the chart's objects that live elsewhere (the aggregated API's RoleBinding in
  // kube-system).
  cp.kubectl(['config', 'set-context', '--current', `--namespace=${namespace}`]);
  const r = cp.tryKubectl(['apply', '--dry-run=server', '-f', '-'], manifests);
  assert.equal(r.status, 0, `the API server refused the rendered objects:\n${r.stderr}`);
  return r.stdout;
}

const VARIANTS: Record<string, string[]> = {
  'defaults (TLS from cert-manager)': [],
  'chart-generated CA': ['--set', 'tls.mode=helm'],
  'PostgreSQL, three replicas, admin tokens from a Secret': ['--set', 'attestation.store.type=postgres', '--set', 'attestation.store.postgres.existingSecret=confkube-db',
    '--set', 'attestation.replicas=3', '--set', 'attestation.adminTokens.existingSecret=confkube-admin'],
  'simulation, tainted SGX pool, trusted signers': ['--set', 'attestation.simulation=true', '--set', 'sgxTaint=sgx.intel.com/epc=true:NoSchedule',
    '--set', `webhook.trustedMrSigners={${'a'.repeat(64)}}`],
  'PodMonitors and EPC pressure alerts': ['--set', 'monitoring.podMonitors=true', '--set', 'monitoring.prometheusRule=true'],
  'no attestation service, no ownership policy': ['--set', 'attestation.enabled=false', '--set', 'nodeAgent.ownNodePolicy=false'],
  'EPC autoscaling (aggregated custom metrics API, KEDA scaler), an operator-made KEK, no EPC limits': ['--set', 'autoscale.enabled=true', '--set', 'autoscale.keda.enabled=true',
    '--set', 'attestation.kek.existingSecret=my-kek', '--set', 'nodeAgent.epcLimits=false'],
  'quote helper (aesmd DaemonSet, QCNL at the service\'s PCCS routes) on a tainted SGX pool': ['--set', 'quoteHelper.enabled=true', '--set', 'quoteHelper.image.tag=0.32.0',
    '--set', 'sgxTaint=sgx.intel.com/epc=true:NoSchedule'],
  'quote helper with a chart-generated CA; attestation URL and CA injected into enclave pods of two namespaces': ['--set', 'tls.mode=helm', '--set', 'quoteHelper.enabled=true',
    '--set', `quoteHelper.image.digest=sha256:${'0'.repeat(64)}`, '--set', 'enclaveApps.attestation.inject=true', '--set', 'enclaveApps.attestation.namespaces={enclaves,default}'],
  'PCK certificates fetched at registration from Intel PCS with the operator\'s API key': ['--set', 'attestation.pck.mode=REQ',
    '--set', 'attestation.pck.pcsUrl=https://api.trustedservices.intel.com', '--set', 'attestation.pck.apiKey.existingSecret=intel-pcs'],
  'dashboard with its cluster page (a ClusterRole listing nodes and pods) and viewer tokens from a Secret': ['--set', 'attestation.dashboard.cluster=true',
    '--set', 'attestation.viewerTokens.existingSecret=confkube-viewers'],
  'injection into every namespace, the CA ConfigMaps distributed by other means': ['--set', 'enclaveApps.attestation.inject=true', '--set', 'enclaveApps.attestation.namespaces={*}',
    '--set', 'enclaveApps.attestation.publishCa=false'],
};

describe('the chart and the plain manifests against the real API server', { timeout: 600_000 }, () => {
  before(async () => {
    cp = await startControlPlane();
    const crds = join(cp.bin, '..', 'crds');
    for (const f of readdirSync(crds)) cp.kubectl(['apply', '--server-side', '-f', join(crds, f)]);
    await eventually('CRDs established', () => cp.tryKubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=5s']).status === 0, 60_000, 500);
    cp.kubectl(['create', 'namespace', 'confkube-system']);
    // The app namespaces the injection variant lists (the chart gives the webhook a Role in each).
    cp.kubectl(['create', 'namespace', 'enclaves']);
  });
  after(async () => {
    if (cp) await cp.stop();
  });

  it('helm lint passes with the default values and with every variant', () => {
    helm(['lint', CHART, '--strict']);
    for (const args of Object.values(VARIANTS)) helm(['lint', CHART, '--strict', ...args]);
  });

  for (const [name, args] of Object.entries(VARIANTS)) {
    it(`helm template, ${name}: every object accepted by the API server`, () => {
      const rendered = helm(['template', 'confkube', CHART, '--namespace', 'confkube-system', '--kube-version', '1.36.3', ...args]);
      const kinds = [...rendered.matchAll(/^kind: (\w+)/gm)].map((m) => m[1]);
      assert.ok(kinds.length >= 10, `only ${kinds.length} objects rendered`);
      const out = dryRun(rendered, 'confkube-system');
      // One line per object: kubectl names each one it sent.
      assert.equal(out.trim().split('\n').length, kinds.length, out);
    });
  }

  it('an invalid webhook configuration is refused (the dry run is not a formality)', () => {
    const r = cp.tryKubectl(['apply', '--dry-run=server', '-f', '-'], JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'broken' },
      webhooks: [{ name: 'broken', clientConfig: { service: { name: 'x', namespace: 'y' } }, sideEffects: 'Unknown', admissionReviewVersions: ['v1'] }],
    }));
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /sideEffects/);
  });

  it('kubectl apply -k deploy/: the plain manifests apply as a user runs them', () => {
    // A real apply, not a dry run: the Namespace in the stream must exist before the objects in it.
    const out = cp.kubectl(['apply', '-k', join(ROOT, 'deploy')]);
    assert.match(out, /namespace\/confkube created/);
    assert.match(out, /daemonset\.apps\/confkube-node-agent created/);
    assert.match(out, /mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/confkube\S* created/);
    assert.doesNotMatch(out, /unchanged|configured/);
  });
});
