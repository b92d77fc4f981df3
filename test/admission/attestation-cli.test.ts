import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

// `webhook --attestation-*`: the attestation service's URL and CA for enclave apps (docs/enclave-pods.md).
const env = { CONFKUBE_WEBHOOK_TLS_CERT: '', CONFKUBE_WEBHOOK_TLS_KEY: '' };
const URL_ = 'https://confkube-attestation.confkube.svc:8443';

test('webhook --review --attestation-url: an SGX pod of a listed namespace shows the variables and the CA mount; a plain pod no change', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-attest-cli-'));
  try {
    const pod = join(dir, 'pod.yaml');
    writeFileSync(pod, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: apps\nspec:\n  containers:\n  - name: app\n    image: x\n    resources:\n      limits:\n        sgx.intel.com/epc: 10Mi\n');
    const args = ['webhook', '--review', pod, '--attestation-url', `${URL_}/`, '--attestation-namespace', 'apps'];
    const human = runCli(args, { env });
    assert.equal(human.status, 0, human.stderr);
    assert.equal(human.stdout, [
      'allowed',
      'add /spec/containers/0/resources/limits/sgx.intel.com~1enclave "1"',
      `add /spec/containers/0/env [{"name":"CONFKUBE_ATTESTATION_URL","value":"${URL_}"},{"name":"CONFKUBE_ATTESTATION_CA","value":"/var/run/confkube/attestation-ca/ca.crt"}]`,
      'add /spec/containers/0/volumeMounts [{"name":"confkube-attestation-ca","mountPath":"/var/run/confkube/attestation-ca","readOnly":true}]',
      'add /spec/volumes [{"name":"confkube-attestation-ca","configMap":{"name":"confkube-attestation-ca","items":[{"key":"ca.crt","path":"ca.crt"}],"defaultMode":292}}]',
      '',
    ].join('\n'));
    const json = JSON.parse(runCli([...args, '--json', '--attestation-ca-configmap', 'my-ca'], { env }).stdout);
    assert.equal(json.object.spec.volumes[0].configMap.name, 'my-ca');
    // Another namespace: nothing of it.
    const other = runCli(['webhook', '--review', pod, '--attestation-url', URL_, '--attestation-namespace', 'ml'], { env });
    assert.doesNotMatch(other.stdout, /CONFKUBE_|volumes/);
    const plain = join(dir, 'plain.json');
    writeFileSync(plain, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx', namespace: 'apps' }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } }));
    assert.equal(runCli(['webhook', '--review', plain, '--attestation-url', URL_, '--attestation-namespace', '*'], { env }).stdout, 'allowed\nno change\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('webhook --attestation-*: bad usage exits 2 and says which flag', () => {
  const cases: [string[], RegExp][] = [
    [['--attestation-url', 'http://x.svc', '--attestation-namespace', 'a'], /--attestation-url: expected an https:\/\/ base URL/],
    [['--attestation-url', 'https://u:p@x.svc', '--attestation-namespace', 'a'], /without credentials/],
    [['--attestation-url', 'not a url', '--attestation-namespace', 'a'], /--attestation-url: not a URL/],
    [['--attestation-url', URL_], /needs --attestation-namespace/],
    [['--attestation-namespace', 'a'], /need --attestation-url/],
    [['--attestation-url', URL_, '--attestation-namespace', 'Bad_NS'], /--attestation-namespace: not a namespace name/],
    [['--attestation-url', URL_, '--attestation-namespace', '*', '--attestation-ca-file', '/x'], /"\*" cannot be one/],
    [['--attestation-url', URL_, '--attestation-namespace', 'a', '--attestation-ca-configmap', 'No'], /--attestation-ca-configmap: not a ConfigMap name/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(['webhook', '--review', '/dev/null', ...args], { env });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
  // Serving: the CA file is checked before anything starts.
  const serve = ['webhook', '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem', '--attestation-url', URL_, '--attestation-namespace', 'a'];
  const noKube = runCli([...serve, '--no-kube', '--attestation-ca-file', '/nonexistent/ca.crt'], { env });
  assert.equal(noKube.status, 2);
  assert.match(noKube.stderr, /--attestation-ca-file writes ConfigMaps through the cluster: it cannot go with --no-kube/);
  const missing = runCli([...serve, '--attestation-ca-file', '/nonexistent/ca.crt'], { env });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--attestation-ca-file: attestation CA \/nonexistent\/ca\.crt: ENOENT/);
});
