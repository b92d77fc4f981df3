import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const env = { CONFKUBE_WEBHOOK_TLS_CERT: '', CONFKUBE_WEBHOOK_TLS_KEY: '' };
const faq = fixturePath('admission/faq-sgx-test-job.yaml');

test('webhook --help names every flag; bad usage exits 2 with a reason', () => {
  const help = runCli(['webhook', '--help'], { env });
  assert.equal(help.status, 0);
  for (const flag of ['--tls-cert', '--tls-key', '--port', '--kubeconfig', '--no-kube', '--trusted-mrsigner', '--sgx-taint', '--review', '--json']) assert.match(help.stdout, new RegExp(flag), flag);
  const cases: [string[], RegExp][] = [
    [['webhook'], /--tls-cert and --tls-key are required/],
    [['webhook', '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'], /cannot read TLS certificate \/nonexistent\/c.pem: ENOENT/],
    [['webhook', '--review', faq, '--trusted-mrsigner', 'xyz'], /--trusted-mrsigner: expected 64 hex digits/],
    [['webhook', '--review', faq, '--sgx-taint', 'bad taint!'], /--sgx-taint: expected key\[=value\]\[:effect\]/],
    [['webhook', '--tls-cert', faq, '--tls-key', faq, '--port', '99999'], /--port: expected an integer 0..65535/],
    [['webhook', '--review', '/nonexistent.yaml'], /cannot read manifest/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args, { env });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('webhook --review: the FAQ Job (mended image typo) is patched; --json gives the decision, patch and object; refusals exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-webhook-cli-'));
  try {
    // The published YAML does not parse (`image: oeciteam/sgx-test: 1.0`): the CLI says so.
    const raw = runCli(['webhook', '--review', faq], { env });
    assert.equal(raw.status, 2);
    assert.match(raw.stderr, /neither JSON nor YAML/);
    const mended = join(dir, 'job.yaml');
    writeFileSync(mended, readFileSync(faq, 'utf8').replace('oeciteam/sgx-test: 1.0', 'oeciteam/sgx-test:1.0'));
    const human = runCli(['webhook', '--review', mended], { env });
    assert.equal(human.status, 0, human.stderr);
    assert.equal(human.stdout, [
      'allowed',
      'remove /spec/template/spec/containers/0/resources/limits/sgx.intel.com~1sgx_epc_mem_in_MiB',
      'add /spec/template/spec/containers/0/resources/limits/sgx.intel.com~1epc "10Mi"',
      'add /spec/template/spec/containers/0/resources/limits/sgx.intel.com~1enclave "1"',
      '',
    ].join('\n'));
    const json = runCli(['webhook', '--review', mended, '--json', '--sgx-taint', 'sgx=true:NoSchedule'], { env });
    assert.equal(json.status, 0);
    const out = JSON.parse(json.stdout);
    assert.equal(out.allowed, true);
    assert.deepEqual(out.object.spec.template.spec.containers[0].resources, { limits: { 'sgx.intel.com/epc': '10Mi', 'sgx.intel.com/enclave': '1' } });
    assert.deepEqual(out.object.spec.template.spec.tolerations, [{ key: 'sgx', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    const plain = join(dir, 'nginx.json');
    writeFileSync(plain, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx', annotations: null }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } }));
    const p = runCli(['webhook', '--review', plain], { env });
    assert.equal(p.status, 0);
    assert.equal(p.stdout, 'allowed\nno change\n');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: e\n  annotations:\n    confkube.io/mrsigner: ' + 'fb'.repeat(32) + '\nspec:\n  containers:\n  - name: e\n    image: x\n    resources:\n      limits:\n        kubernetes.azure.com/sgx_epc_mem_in_MiB: 10Mi\n');
    const r = runCli(['webhook', '--review', bad, '--json', '--trusted-mrsigner', 'ac'.repeat(32)], { env });
    assert.equal(r.status, 1);
    const rj = JSON.parse(r.stdout);
    assert.equal(rj.allowed, false);
    assert.match(rj.message, /counts MiB/);
    assert.match(rj.message, /not trusted/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
