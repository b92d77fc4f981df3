import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { AESMD_DIR, LABEL_FLC, LABEL_SGX } from '../../src/kube/names.js';
import { reviewRequest } from '../../src/admission/index.js';
import { attestationInjection } from '../../src/cli/commands/webhook.js';
import { byKind, named, render, renderError, type Obj } from '../deploy/helpers.js';

// The chart's quote helper (docs/quote-helper.md) and the webhook's attestation injection for enclave pods
// (docs/enclave-pods.md), as rendered.

const QH: Record<string, string> = { 'quoteHelper.enabled': 'true', 'quoteHelper.image.tag': '0.32.0' };

function helper(objs: Obj[]): { ds: Obj; spec: Obj; c: Obj; qcnl: Obj; cm: Obj } {
  const ds = named(objs, 'DaemonSet', 'confkube-quote-helper');
  const spec = ds.spec.template.spec;
  const cm = named(objs, 'ConfigMap', 'confkube-quote-helper');
  return { ds, spec, c: spec.containers[0], qcnl: JSON.parse(cm.data['sgx_default_qcnl.conf']), cm };
}

function argOf(objs: Obj[], deployment: string, flag: string): string | undefined {
  const a = named(objs, 'Deployment', deployment).spec.template.spec.containers[0].args.find((x: string) => x.startsWith(`${flag}=`));
  return a?.slice(flag.length + 1);
}

test('the quote helper is off by default; its image must be pinned', () => {
  assert.deepEqual(render().filter((o) => o.metadata.name.includes('quote-helper')), []);
  assert.match(renderError({ 'quoteHelper.enabled': 'true' }), /quoteHelper\.image: pin a tag or a digest/);
  const { c } = helper(render({ 'quoteHelper.enabled': true, 'quoteHelper.image.digest': `sha256:${'ab'.repeat(32)}` }));
  assert.equal(c.image, `docker.io/intel/sgx-aesmd-demo@sha256:${'ab'.repeat(32)}`);
});

test('the quote helper runs only on SGX nodes with FLC, whatever nodeSelector adds, and tolerates the SGX taint', () => {
  for (const extra of [{}, { 'quoteHelper.nodeSelector.pool': 'dcsv3', [`quoteHelper.nodeSelector.${LABEL_SGX.replace(/\./g, '\\.')}`]: 'any' }] as Record<string, string>[]) {
    const { spec } = helper(render({ ...QH, ...extra }));
    assert.equal(spec.nodeSelector[LABEL_SGX], 'true', 'the agent\'s label (src/node/labels.ts) cannot be overridden');
    assert.equal(spec.nodeSelector[LABEL_FLC], 'true');
  }
  assert.equal(helper(render({ ...QH, 'quoteHelper.nodeSelector.pool': 'dcsv3' })).spec.nodeSelector.pool, 'dcsv3');
  const tainted = helper(render({ ...QH, sgxTaint: 'sgx.intel.com/epc=true:NoSchedule' })).spec;
  assert.deepEqual(tainted.tolerations, [{ key: 'sgx.intel.com/epc', operator: 'Exists' }]);
  assert.equal(helper(render(QH)).spec.tolerations, undefined);
});

test('the socket: the helper writes the host directory the webhook mounts read-only into pods that quote through aesmd', async () => {
  const { spec, c } = helper(render(QH));
  const vol = spec.volumes.find((v: Obj) => v.name === 'aesmd-socket');
  assert.deepEqual(vol.hostPath, { path: AESMD_DIR, type: 'DirectoryOrCreate' });
  const mount = c.volumeMounts.find((m: Obj) => m.name === 'aesmd-socket');
  assert.equal(mount.mountPath, AESMD_DIR, 'aesmd creates aesm.socket in its own /var/run/aesmd');
  assert.notEqual(mount.readOnly, true);
  // What the webhook gives an app pod annotated confkube.io/quote-provider: aesmd.
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'apps', annotations: { 'confkube.io/quote-provider': 'aesmd' } }, spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } }] } };
  const out = await reviewRequest({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', operation: 'CREATE', kind: { kind: 'Pod' }, namespace: 'apps', object: pod } }, 'mutate');
  const ops = JSON.parse(Buffer.from(out.response.patch!, 'base64').toString()) as { path: string; value: Obj }[];
  const appVol = ops.find((o) => o.path === '/spec/volumes')!.value[0];
  assert.equal(appVol.hostPath.path, vol.hostPath.path, 'the same host directory');
  const appMount = ops.find((o) => o.path === '/spec/containers/0/volumeMounts')!.value[0];
  assert.deepEqual([appMount.mountPath, appMount.readOnly], [AESMD_DIR, true], 'read-only for apps');
});

test('sgx_default_qcnl.conf points at the attestation service\'s PCCS routes, over verified TLS with the service CA as the whole CA bundle', () => {
  const objs = render({ ...QH, 'tls.mode': 'helm' });
  const { c, spec, qcnl, cm } = helper(objs);
  const base = argOf(objs, 'confkube-attestation', '--base-url');
  assert.equal(base, 'https://confkube-attestation.confkube.svc');
  assert.equal(qcnl.pccs_url, `${base}/sgx/certification/v4/`);
  assert.equal(qcnl.use_secure_cert, true);
  assert.equal(qcnl.collateral_service, undefined, 'collateral from pccs_url too');
  assert.deepEqual(Object.keys(qcnl).sort(), ['pccs_url', 'pck_cache_expire_hours', 'retry_delay', 'retry_times', 'use_secure_cert', 'verify_collateral_cache_expire_hours']);
  assert.equal(cm.data['aesmd.conf'], 'default quoting type = ecdsa_256\n');
  const byPath = new Map(c.volumeMounts.map((m: Obj) => [m.mountPath, m]));
  assert.deepEqual(byPath.get('/etc/sgx_default_qcnl.conf'), { name: 'config', mountPath: '/etc/sgx_default_qcnl.conf', subPath: 'sgx_default_qcnl.conf', readOnly: true });
  const caMount = byPath.get('/etc/ssl/certs/ca-certificates.crt') as Obj;
  assert.equal(caMount.readOnly, true);
  const caVol = spec.volumes.find((v: Obj) => v.name === caMount.name);
  const attTls = named(objs, 'Deployment', 'confkube-attestation').spec.template.spec.volumes.find((v: Obj) => v.secret?.secretName?.endsWith('-tls'));
  assert.equal(caVol.secret.secretName, attTls.secret.secretName, 'the Secret the service serves from');
  assert.deepEqual(caVol.secret.items, [{ key: 'ca.crt', path: 'ca.crt' }], 'its CA only, never its key');
  // That ca.crt verifies the service's certificate, which is valid for pccs_url's host.
  const secret = named(objs, 'Secret', caVol.secret.secretName);
  const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
  const leaf = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  assert.ok(leaf.verify(ca.publicKey));
  assert.ok(leaf.checkHost(new URL(qcnl.pccs_url).hostname));

  const port = helper(render({ ...QH, 'attestation.servicePort': 8443 })).qcnl;
  assert.equal(port.pccs_url, 'https://confkube-attestation.confkube.svc:8443/sgx/certification/v4/');
  const own = helper(render({ ...QH, 'attestation.baseUrl': 'https://attest.example.com/' })).qcnl;
  assert.equal(own.pccs_url, 'https://attest.example.com/sgx/certification/v4/');
});

test('qcnl values: another PCCS with the image\'s CA store, extra keys, and the checksum that restarts aesmd', () => {
  const { spec, qcnl, ds } = helper(render({ ...QH, 'attestation.enabled': false, 'quoteHelper.qcnl.trust': 'image', 'quoteHelper.qcnl.pccsUrl': 'https://pccs.example.com:8081/sgx/certification/v4/',
    'quoteHelper.qcnl.collateralService': 'https://api.trustedservices.intel.com/sgx/certification/v4/', 'quoteHelper.qcnl.extra.local_cache_only': false, 'quoteHelper.qcnl.retryTimes': 2 }));
  assert.equal(qcnl.pccs_url, 'https://pccs.example.com:8081/sgx/certification/v4/');
  assert.equal(qcnl.collateral_service, 'https://api.trustedservices.intel.com/sgx/certification/v4/');
  assert.equal(qcnl.local_cache_only, false);
  assert.equal(qcnl.retry_times, 2);
  assert.ok(!spec.volumes.some((v: Obj) => v.secret), 'no CA mount: the image\'s store');
  assert.notEqual(ds.spec.template.metadata.annotations['checksum/config'], helper(render(QH)).ds.spec.template.metadata.annotations['checksum/config']);
  assert.match(renderError({ ...QH, 'attestation.enabled': 'false' }), /trust=service needs the chart's attestation service/);
  assert.match(renderError({ ...QH, 'attestation.enabled': 'false', 'quoteHelper.qcnl.trust': 'image' }), /give quoteHelper\.qcnl\.pccsUrl/);
  assert.match(renderError({ ...QH, 'quoteHelper.qcnl.pccsUrl': 'https://pccs.example.com/no-slash' }), /pccsUrl/);
});

test('the quote helper asks for the enclave and provisioning devices and EPC, requests equal to limits; root with no capability, nothing privileged', () => {
  const { spec, c } = helper(render(QH));
  for (const m of ['requests', 'limits']) {
    assert.equal(c.resources[m]['sgx.intel.com/enclave'], '1');
    assert.equal(c.resources[m]['sgx.intel.com/provision'], '1', 'the PCE reads the provisioning key');
    assert.equal(c.resources[m]['sgx.intel.com/epc'], '8Mi');
  }
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
  assert.equal(spec.automountServiceAccountToken, false, 'aesmd calls no Kubernetes API');
  assert.notEqual(spec.hostNetwork, true);
  assert.notEqual(spec.hostPID, true);
  assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
  const sc = c.securityContext;
  assert.deepEqual([sc.privileged, sc.allowPrivilegeEscalation, sc.readOnlyRootFilesystem], [false, false, true]);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  assert.equal(sc.seccompProfile.type, 'RuntimeDefault');
  assert.deepEqual(c.readinessProbe.exec.command, ['test', '-S', `${AESMD_DIR}/aesm.socket`]);
  const hostPaths = spec.volumes.filter((v: Obj) => v.hostPath).map((v: Obj) => v.hostPath.path);
  assert.deepEqual(hostPaths, [AESMD_DIR], 'no other host path');
});

test('injection for enclave apps is off by default: no flag, no Role', () => {
  const objs = render();
  assert.equal(argOf(objs, 'confkube-webhook', '--attestation-url'), undefined);
  assert.deepEqual(byKind(objs, 'Role'), []);
});

function attestationFlags(objs: Obj[]) {
  const args: string[] = named(objs, 'Deployment', 'confkube-webhook').spec.template.spec.containers[0].args;
  const all = (f: string) => args.filter((a) => a.startsWith(`${f}=`)).map((a) => a.slice(f.length + 1));
  return {
    attestationUrl: all('--attestation-url')[0], attestationNamespace: all('--attestation-namespace'),
    attestationCaConfigmap: all('--attestation-ca-configmap')[0] ?? 'confkube-attestation-ca', attestationCaFile: all('--attestation-ca-file')[0],
  };
}

test('injection on: the webhook flags parse as the CLI parses them; it publishes the service CA (ca.crt only) with a minimal Role per namespace', () => {
  for (const mode of ['cert-manager', 'helm']) {
    const objs = render({ 'tls.mode': mode, 'enclaveApps.attestation.inject': true, 'enclaveApps.attestation.namespaces': '{apps,ml}' });
    const flags = attestationFlags(objs);
    assert.deepEqual(attestationInjection(flags), { url: 'https://confkube-attestation.confkube.svc', configMap: 'confkube-attestation-ca', namespaces: ['apps', 'ml'] });
    const spec = named(objs, 'Deployment', 'confkube-webhook').spec.template.spec;
    const mount = spec.containers[0].volumeMounts.find((m: Obj) => flags.attestationCaFile.startsWith(`${m.mountPath}/`));
    assert.equal(mount.readOnly, true);
    const vol = spec.volumes.find((v: Obj) => v.name === mount.name);
    assert.deepEqual(vol.secret, { secretName: 'confkube-attestation-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] }, `${mode}: the attestation service's CA, not its key`);
    const roles = byKind(objs, 'Role');
    assert.deepEqual(roles.map((r) => r.metadata.namespace).sort(), ['apps', 'ml']);
    for (const r of roles) {
      assert.deepEqual(r.rules, [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: ['confkube-attestation-ca'], verbs: ['get', 'update'] },
      ]);
      const b = byKind(objs, 'RoleBinding').find((x) => x.metadata.namespace === r.metadata.namespace)!;
      assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: r.metadata.name });
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: spec.serviceAccountName, namespace: 'confkube' }]);
    }
  }
});

test('injection variants: the URL of another service, a given CA, ConfigMaps distributed by other means; bad combinations refused', () => {
  const pem = new X509Certificate(Buffer.from(render({ 'tls.mode': 'helm' }).find((o) => o.metadata.name === 'confkube-ca')!.data['tls.crt'], 'base64')).toString();
  const ext = render({ 'attestation.enabled': false, 'enclaveApps.attestation.inject': true, 'enclaveApps.attestation.namespaces': '{apps}', 'enclaveApps.attestation.url': 'https://attest.example.com', 'enclaveApps.attestation.caPem': pem });
  assert.equal(attestationFlags(ext).attestationUrl, 'https://attest.example.com');
  assert.equal(named(ext, 'ConfigMap', 'confkube-webhook-attestation-ca-source').data['ca.crt'], pem);
  const mine = render({ 'enclaveApps.attestation.inject': true, 'enclaveApps.attestation.namespaces': '{*}', 'enclaveApps.attestation.publishCa': false, 'enclaveApps.attestation.configMap': 'trust-bundle' });
  const flags = attestationFlags(mine);
  assert.equal(flags.attestationCaFile, undefined);
  assert.deepEqual(attestationInjection(flags), { url: 'https://confkube-attestation.confkube.svc', configMap: 'trust-bundle', namespaces: ['*'] });
  assert.deepEqual(byKind(mine, 'Role'), []);

  assert.match(renderError({ 'enclaveApps.attestation.inject': 'true' }), /list the namespaces/);
  assert.match(renderError({ 'enclaveApps.attestation.inject': 'true', 'enclaveApps.attestation.namespaces': '{*}' }), /publishCa=false/);
  assert.match(renderError({ 'enclaveApps.attestation.inject': 'true', 'enclaveApps.attestation.namespaces': '{apps}', 'attestation.enabled': 'false' }), /enclaveApps\.attestation\.url|caPem/);
  assert.match(renderError({ 'enclaveApps.attestation.inject': 'true', 'enclaveApps.attestation.namespaces': '{Apps}' }), /namespaces/);
  assert.match(renderError({ 'enclaveApps.attestation.url': 'http://plain.example.com' }), /url/);
  for (const ns of ['confkube', 'kube-system']) {
    assert.match(renderError({ 'enclaveApps.attestation.inject': 'true', 'enclaveApps.attestation.namespaces': `{apps,${ns}}` }), new RegExp(`${ns} is never sent to the webhook`));
  }
});
