import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import type { PlanResult } from '../../src/planner/index.js';

const deployment = (name: string, replicas: number, limits: Record<string, unknown>) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n        resources:\n          limits: ${JSON.stringify(limits)}\n`;

test('confkube plan: a directory of manifests onto pools, a table or JSON, exit 1 while pods are left over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-plan-'));
  try {
    mkdirSync(join(dir, 'apps'));
    // The FAQ's alias as YAML writes it (a number), a Service beside it, a README that is not a manifest.
    writeFileSync(join(dir, 'apps', 'enclave.yaml'), deployment('enclave', 3, { 'sgx.intel.com/sgx_epc_mem_in_MiB': 20 }) + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n');
    writeFileSync(join(dir, 'web.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'c:1' }] } }));
    writeFileSync(join(dir, 'README.md'), '# not a manifest\n');
    const fits = runCli(['plan', '-f', dir, '--pool', 'Standard_DC2s_v2=2', '--json']);
    assert.equal(fits.status, 0, fits.stderr);
    const r = JSON.parse(fits.stdout) as PlanResult;
    assert.equal(r.placements.length, 4);
    assert.deepEqual(r.nodes.map((n) => n.epc.requested / 2 ** 20).sort(), [20, 40]);
    assert.equal(r.recommendation!.pools.length, 0);

    const short = runCli(['plan', '-f', join(dir, 'apps'), '--pool', 'small:Standard_DC1s_v2=1', '--cluster-name', 'prod', '--resource-group', 'rg-prod', '--sgx-taint', 'sgx=true:NoSchedule']);
    assert.equal(short.status, 1);
    assert.match(short.stdout, /^POD +WORKLOAD +NODE +POOL +EPC MiB$/m);
    assert.match(short.stdout, /default\/enclave-1: 0\/1 nodes are available: 1 Insufficient sgx\.intel\.com\/epc\./);
    // Two more 20 MiB pods: one DC1s_v3 (4 GiB of EPC, one vCPU) is cheaper than two DC1s_v2 (28 MiB each).
    assert.match(short.stdout, /az aks nodepool add --cluster-name prod --resource-group rg-prod --name sgx1 --node-vm-size Standard_DC1s_v3 --node-count 1 --max-pods 110 --node-taints sgx=true:NoSchedule/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('confkube plan and explain: bad usage and bad input exit 2 with what and where', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-plan-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: lots}}\n');
    writeFileSync(join(dir, 'cat.yaml'), 'sizes:\n- name: x\n  vCpus: 2\n');
    writeFileSync(join(dir, 'good.yaml'), 'kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n');
    const cases: [string[], RegExp][] = [
      [['plan'], /give manifests \(-f FILE\|DIR\) or --cluster/],
      [['plan', '-f', '/nonexistent'], /cannot read manifest \/nonexistent: ENOENT/],
      [['plan', '-f', join(dir, 'bad.yaml')], /ERR_PLAN_INPUT: Pod\/p container "c": cpu: quantity "lots"/],
      [['plan', '-f', join(dir, 'bad.yaml'), '--pool', 'DC2s_v2'], /--pool: expected \[NAME:\]SIZE=COUNT/],
      [['plan', '-f', join(dir, 'bad.yaml'), '--catalogue', join(dir, 'cat.yaml')], /ERR_PLAN_CATALOGUE: .*cat\.yaml: sizes\[0\] \(x\): vCpus and memory are required/],
      [['plan', '-f', join(dir, 'good.yaml'), '--pool', 'Standard_M8=1'], /ERR_PLAN_POOL: VM size "Standard_M8" is not in the catalogue/],
      [['explain', 'pod'], /give a pod NAME or -f MANIFEST/],
      [['explain', 'pod', 'x', '--kubeconfig', join(dir, 'cat.yaml')], /ERR_CLUSTER_UNREACHABLE/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
