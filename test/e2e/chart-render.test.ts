import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHART, K8S_VERSION, REPO, byKind, helm, helmPath, named, parseAll, render, renderError, type Obj } from '../deploy/helpers.js';

// The Helm chart deploy/helm/confkube and the plain manifests rendered from it (deploy/*.yaml).

test('helm lint passes (values.schema.json included) for every TLS and store mode', () => {
  for (const set of [[], ['--set', 'tls.mode=helm'], ['--set', 'attestation.store.type=postgres', '--set', 'attestation.store.postgres.existingSecret=pg']]) {
    const out = helm(['lint', '--strict', CHART, '--kube-version', K8S_VERSION, ...set]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/, set.join(' '));
  }
});

test('deploy/*.yaml and deploy/kustomization.yaml are exactly what scripts/render-manifests.sh renders from the chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-render-'));
  try {
    const r = spawnSync('bash', [join(REPO, 'scripts/render-manifests.sh'), '--out', dir], { encoding: 'utf8', env: { ...process.env, HELM: helmPath() } });
    assert.equal(r.status, 0, r.stderr);
    const fresh = readdirSync(dir).sort();
    const shipped = readdirSync(join(REPO, 'deploy')).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(shipped, fresh, 'the same files');
    for (const f of fresh) {
      assert.equal(readFileSync(join(REPO, 'deploy', f), 'utf8'), readFileSync(join(dir, f), 'utf8'), `deploy/${f} differs from the chart: run scripts/render-manifests.sh`);
    }
    const listed = (readFileSync(join(dir, 'kustomization.yaml'), 'utf8').match(/^ {2}- (.+)$/gm) ?? []).map((l) => l.slice(4)).sort();
    assert.deepEqual(listed, fresh.filter((f) => f !== 'kustomization.yaml'), 'kustomization.yaml lists every manifest');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubectl kustomize deploy/ builds the same objects as the chart; --stdout prints the stream with extra helm arguments', () => {
  const kubectl = join(helmPath(), '../kubectl');
  const built = spawnSync(kubectl, ['kustomize', join(REPO, 'deploy')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const key = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  const fromKustomize = parseAll(built.stdout).map(key).sort();
  // The plain manifests name a KEK Secret the operator creates; the chart generates one when none is named.
  const fromChart = render({ createNamespace: true, 'attestation.kek.existingSecret': 'confkube-attestation-kek' }).map(key).sort();
  assert.deepEqual(fromKustomize, fromChart);
  assert.ok(fromKustomize.includes('Namespace//confkube'));

  const r = spawnSync('bash', [join(REPO, 'scripts/render-manifests.sh'), '--stdout', '--', '--set', 'tls.mode=helm'], { encoding: 'utf8', env: { ...process.env, HELM: helmPath() } });
  assert.equal(r.status, 0, r.stderr);
  const stream = parseAll(r.stdout);
  assert.ok(byKind(stream, 'MutatingWebhookConfiguration')[0].webhooks[0].clientConfig.caBundle, 'the later --set wins');
  assert.ok(byKind(stream, 'Namespace').length === 1);
});

const VARIANTS: Record<string, Record<string, string | number | boolean>> = {
  'defaults (cert-manager, SQLite)': {},
  'chart-generated CA': { 'tls.mode': 'helm' },
  'PostgreSQL, monitoring': { 'attestation.store.type': 'postgres', 'attestation.store.postgres.existingSecret': 'pg', 'monitoring.podMonitors': true, 'monitoring.prometheusRule': true, 'webhook.metrics.port': 9465 },
  'tainted SGX pool, signers, simulation': { sgxTaint: 'sgx=true:NoSchedule', 'webhook.trustedMrSigners[0]': 'a'.repeat(64), 'attestation.simulation': true },
};

function podSpecs(objs: Obj[]): [string, Obj][] {
  return objs.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet').map((o) => [`${o.kind}/${o.metadata.name}`, o.spec.template.spec]);
}

test('every Deployment and DaemonSet: seccomp RuntimeDefault, read-only root, no privilege escalation, all capabilities dropped, resources, probes', () => {
  for (const [variant, set] of Object.entries(VARIANTS)) {
    const objs = render(set);
    const specs = podSpecs(objs);
    assert.equal(specs.length, 3, variant);
    for (const [where, spec] of specs) {
      const w = `${variant}: ${where}`;
      assert.equal(spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', w);
      assert.notEqual(spec.hostNetwork, true, w);
      assert.notEqual(spec.hostPID, true, w);
      for (const c of spec.containers) {
        const sc = c.securityContext;
        assert.ok(sc, `${w}: securityContext`);
        assert.equal(sc.readOnlyRootFilesystem, true, w);
        assert.equal(sc.allowPrivilegeEscalation, false, w);
        assert.notEqual(sc.privileged, true, w);
        assert.deepEqual(sc.capabilities.drop, ['ALL'], w);
        assert.equal(sc.seccompProfile.type, 'RuntimeDefault', w);
        assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${w}: requests and a memory limit`);
        for (const probe of ['readinessProbe', 'livenessProbe']) {
          const port = c[probe]?.httpGet?.port;
          assert.ok(c.ports.some((p: Obj) => p.name === port), `${w}: ${probe} on a declared port`);
        }
        assert.deepEqual(c.args.slice(0, 1), [where.endsWith('node-agent') ? 'node-agent' : where.endsWith('webhook') ? 'webhook' : 'serve'], w);
      }
      if (where.endsWith('node-agent')) {
        // Root for the kubelet's root-owned device plugin directory; at most CAP_SYS_PTRACE (other processes' maps).
        assert.ok((spec.containers[0].securityContext.capabilities.add ?? []).every((c: string) => c === 'SYS_PTRACE'), w);
        assert.equal(spec.priorityClassName, 'system-node-critical', w);
      } else {
        assert.equal(spec.securityContext.runAsNonRoot, true, w);
        assert.equal(spec.containers[0].securityContext.runAsNonRoot, true, w);
        assert.equal(spec.containers[0].securityContext.runAsUser, 65532, `${w}: the image's user`);
      }
    }
  }
});

test('the node agent mounts only what it reads, read-only, except the device plugin directory and (for EPC limits) the cgroup tree', () => {
  const ds = named(render(), 'DaemonSet', 'confkube-node-agent');
  const spec = ds.spec.template.spec;
  const c = spec.containers[0];
  const hostPaths = new Map(spec.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => [v.name, v.hostPath.path]));
  assert.deepEqual([...hostPaths.values()].sort(), ['/dev', '/proc', '/sys/devices/system/node', '/sys/fs/cgroup', '/sys/module', '/var/lib/dpkg', '/var/lib/kubelet/device-plugins', '/var/run/aesmd']);
  const hostRoot = c.args.find((a: string) => a.startsWith('--host-root=')).slice('--host-root='.length);
  const pluginDir = c.args.find((a: string) => a.startsWith('--plugin-dir=')).slice('--plugin-dir='.length);
  for (const m of c.volumeMounts) {
    const host = hostPaths.get(m.name);
    if (host === pluginDir) {
      assert.equal(m.mountPath, pluginDir, 'the kubelet directory at the path the agent is given');
      assert.notEqual(m.readOnly, true);
    } else {
      assert.equal(m.mountPath, `${hostRoot}${host}`, `${m.name} under --host-root`);
      // misc.max is written where the kernel's misc cgroup offers sgx_epc (nodeAgent.epcLimits, default on).
      assert.equal(m.readOnly, host !== '/sys/fs/cgroup', m.name);
    }
  }
  const off = named(render({ 'nodeAgent.epcLimits': false }), 'DaemonSet', 'confkube-node-agent').spec.template.spec.containers[0];
  assert.ok(off.volumeMounts.every((m: Obj) => m.readOnly === true || m.mountPath === pluginDir), 'epcLimits=false: every host mount but the plugin directory read-only');
  assert.ok(off.args.includes('--no-epc-limits'));
  assert.deepEqual(c.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom.fieldRef, { fieldPath: 'spec.nodeName' });
  const metrics = c.args.find((a: string) => a.startsWith('--metrics-address='));
  assert.equal(metrics, `--metrics-address=0.0.0.0:${c.ports[0].containerPort}`, 'probes reach the listener on the pod IP');
  assert.deepEqual(named(render({ 'nodeAgent.procScan.ptrace': false }), 'DaemonSet', 'confkube-node-agent').spec.template.spec.containers[0].securityContext.capabilities, { drop: ['ALL'] });
});

test('RBAC: each component gets exactly its known minimal verbs; the attestation service none; nobody reads Secrets', () => {
  const objs = render();
  const rules = (name: string) => named(objs, 'ClusterRole', name).rules.map((r: Obj) => ({ ...r, resources: [...r.resources].sort(), verbs: [...r.verbs].sort() }));
  assert.deepEqual(rules('confkube-node-agent'), [
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'patch', 'watch'] },
    { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  ]);
  assert.deepEqual(rules('confkube-webhook'), [
    { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['configmaps', 'namespaces'], verbs: ['get'] },
  ]);
  assert.deepEqual(byKind(objs, 'ClusterRole').map((r) => r.metadata.name).sort(), ['confkube-node-agent', 'confkube-webhook']);
  assert.deepEqual(byKind(objs, 'Role'), []);
  for (const b of byKind(objs, 'ClusterRoleBinding')) {
    assert.equal(b.roleRef.name, b.metadata.name);
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: b.metadata.name, namespace: 'confkube' }]);
  }
  const att = named(objs, 'Deployment', 'confkube-attestation').spec.template.spec;
  assert.equal(att.automountServiceAccountToken, false, 'the attestation service calls no Kubernetes API');
});

test('the node agent is held to its own Node by a ValidatingAdmissionPolicy on its ServiceAccount and token node name', () => {
  const objs = render();
  const vap = named(objs, 'ValidatingAdmissionPolicy', 'confkube-node-agent-own-node');
  const binding = named(objs, 'ValidatingAdmissionPolicyBinding', 'confkube-node-agent-own-node');
  assert.equal(binding.spec.policyName, vap.metadata.name);
  assert.deepEqual(binding.spec.validationActions, ['Deny']);
  assert.equal(vap.spec.failurePolicy, 'Fail');
  assert.deepEqual(vap.spec.matchConstraints.resourceRules[0].resources, ['nodes', 'nodes/status'], 'labels and capacity alike');
  const sa = named(objs, 'DaemonSet', 'confkube-node-agent').spec.template.spec.serviceAccountName;
  assert.equal(vap.spec.matchConditions[0].expression, `request.userInfo.username == "system:serviceaccount:confkube:${sa}"`);
  const cel = JSON.stringify(vap.spec);
  assert.ok(cel.includes("request.userInfo.extra['authentication.kubernetes.io/node-name']"));
  assert.ok(vap.spec.validations.some((v: Obj) => v.expression.includes('request.name == variables.tokenNode')));
  assert.deepEqual(byKind(render({ 'nodeAgent.ownNodePolicy': false }), 'ValidatingAdmissionPolicy'), []);
});

test('chart-generated TLS: the caBundle is the CA that signed each serving certificate, valid for its Service name', () => {
  const objs = render({ 'tls.mode': 'helm' });
  assert.deepEqual(byKind(objs, 'Certificate'), [], 'no cert-manager objects');
  const bundles = new Set(byKind(objs, 'MutatingWebhookConfiguration').concat(byKind(objs, 'ValidatingWebhookConfiguration'))
    .flatMap((c) => c.webhooks.map((w: Obj) => w.clientConfig.caBundle as string)));
  assert.equal(bundles.size, 1, 'one CA in every registration');
  const ca = new X509Certificate(Buffer.from([...bundles][0], 'base64'));
  assert.ok(ca.ca);
  for (const [secret, svc] of [['confkube-webhook-tls', 'confkube-webhook'], ['confkube-attestation-tls', 'confkube-attestation']]) {
    const s = named(objs, 'Secret', secret);
    assert.equal(s.type, 'kubernetes.io/tls');
    const leaf = new X509Certificate(Buffer.from(s.data['tls.crt'], 'base64'));
    assert.ok(leaf.verify(ca.publicKey), `${secret} is signed by the caBundle's CA`);
    assert.equal(Buffer.from(s.data['ca.crt'], 'base64').toString(), ca.toString());
    assert.ok(leaf.checkHost(`${svc}.confkube.svc`), `${secret} is valid for ${svc}.confkube.svc`);
  }
  for (const c of byKind(objs, 'MutatingWebhookConfiguration')) assert.equal(c.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
});

test('attestation store: SQLite is one replica (Recreate) on a PVC; PostgreSQL takes its URL from a Secret and runs several', () => {
  const sqlite = render();
  const d = named(sqlite, 'Deployment', 'confkube-attestation');
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.strategy.type, 'Recreate');
  const c = d.spec.template.spec.containers[0];
  assert.ok(c.args.includes('--store=sqlite:/var/lib/confkube/confkube.db'));
  const data = c.volumeMounts.find((m: Obj) => m.mountPath === '/var/lib/confkube');
  const vol = d.spec.template.spec.volumes.find((v: Obj) => v.name === data.name);
  assert.equal(named(sqlite, 'PersistentVolumeClaim', vol.persistentVolumeClaim.claimName).metadata.annotations['helm.sh/resource-policy'], 'keep');
  assert.ok(c.args.includes('--base-url=https://confkube-attestation.confkube.svc'));
  assert.ok(c.args.includes('--pccs-url=https://api.trustedservices.intel.com'));

  const pg = render({ 'attestation.store.type': 'postgres', 'attestation.store.postgres.existingSecret': 'pg', 'attestation.replicas': 3 });
  const p = named(pg, 'Deployment', 'confkube-attestation');
  assert.equal(p.spec.replicas, 3);
  const pc = p.spec.template.spec.containers[0];
  assert.ok(!pc.args.some((a: string) => a.startsWith('--store')), 'the URL is not in the args');
  assert.deepEqual(pc.env.find((e: Obj) => e.name === 'CONFKUBE_STORE').valueFrom.secretKeyRef, { name: 'pg', key: 'url' });
  assert.deepEqual(byKind(pg, 'PersistentVolumeClaim'), []);
  assert.equal(named(pg, 'PodDisruptionBudget', 'confkube-attestation').spec.minAvailable, 1);
});

test('bad values are refused with a message that says which', () => {
  assert.match(renderError({ 'webhook.trustedMrSigners[0]': 'not-hex' }), /trustedMrSigners/);
  assert.match(renderError({ 'tls.mode': 'self-signed' }), /tls\.mode|mode/);
  assert.match(renderError({ sgxTaint: 'a=b:Sometimes' }), /sgxTaint/);
  assert.match(renderError({ 'attestation.store.type': 'postgres' }), /existingSecret/);
  assert.match(renderError({ 'attestation.store.type': 'postgres', 'attestation.store.postgres.existingSecret': 'pg', 'attestation.simulation': 'true' }), /simulation/);
  assert.match(renderError({ 'attestation.collateral.pccsUrl': '' }), /collateral source/);
  assert.match(renderError({ 'nodeAgent.scanInterval': '15 seconds' }), /scanInterval/);
});

test('values reach the flags: SGX taint, trusted signers, ports', () => {
  const objs = render({ sgxTaint: 'sgx=true:NoSchedule', 'webhook.trustedMrSigners[0]': 'a'.repeat(64), 'webhook.port': 9443 });
  const wh = named(objs, 'Deployment', 'confkube-webhook').spec.template.spec.containers[0];
  assert.ok(wh.args.includes('--sgx-taint=sgx=true:NoSchedule'));
  assert.ok(wh.args.includes(`--trusted-mrsigner=${'a'.repeat(64)}`));
  assert.ok(wh.args.includes('--port=9443'));
  assert.equal(wh.ports[0].containerPort, 9443);
  assert.equal(wh.lifecycle.preStop.sleep.seconds > 0, true, 'a stopping replica answers until the Service drops it');
  const tolerations = named(objs, 'DaemonSet', 'confkube-node-agent').spec.template.spec.tolerations;
  assert.ok(tolerations.some((t: Obj) => t.key === 'sgx' && t.operator === 'Exists'), 'the agent runs on the tainted pool');
});

test('monitoring is off by default; on, the PrometheusRule passes promtool and scrapes declared ports', () => {
  assert.deepEqual(render().filter((o) => o.apiVersion.startsWith('monitoring.coreos.com')), []);
  const objs = render(VARIANTS['PostgreSQL, monitoring']);
  const monitors = byKind(objs, 'PodMonitor');
  assert.deepEqual(monitors.map((m) => m.metadata.name).sort(), ['confkube-attestation', 'confkube-node-agent', 'confkube-webhook']);
  for (const m of monitors) {
    const pod = podSpecs(objs).find(([, s]) => s.containers[0].ports.some((p: Obj) => p.name === m.spec.podMetricsEndpoints[0].port));
    assert.ok(pod, `${m.metadata.name} scrapes a declared port`);
  }
  const [rule] = byKind(objs, 'PrometheusRule');
  const dir = mkdtempSync(join(tmpdir(), 'confkube-rules-'));
  try {
    const file = join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify(rule.spec));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'promtool is installed (.ci/run installs Debian\'s prometheus)');
    assert.equal(r.status, 0, r.stdout + r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const alerts = rule.spec.groups.flatMap((g: Obj) => g.rules.map((x: Obj) => x.alert));
  assert.ok(alerts.includes('ConfkubeEpcPressureHigh') && alerts.includes('ConfkubeEpcOvercommitted'));
});
