import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KubeCluster, reviewRequest } from '../../src/admission/index.js';
import { fixtureBytes } from '../helpers/fixtures.js';
import { ApiServerPeer } from '../../support/apiserver-peer.js';
import { asKind, reviewFor } from './helpers.js';
import { ordinaryCorpus } from './corpus.js';

const LE_SIGNER = 'acb77012053e05a63d413b8bbae8fb6c5d73b3f2996d91c43bbbf90959c0f8d4';
const FORTANIX_SIGNER = 'fb4bab3d6036ac1d730fa83d7366df1dd2dfeac194ef335d6854d8a6c6475542';

const peer = new ApiServerPeer('aks-nodepool1-0');
let cluster: KubeCluster;
const clusters: KubeCluster[] = [];
/** A KubeCluster stopped after the file (its node informer holds a watch open). */
function kubeCluster(o: ConstructorParameters<typeof KubeCluster>[1] = {}): KubeCluster {
  const c = new KubeCluster(peer.kubeConfig(), { backoff: { initialMs: 20, maxMs: 100 }, ...o });
  clusters.push(c);
  return c;
}

before(async () => {
  peer.addSgxNode('aks-dcsv2-0', '168Mi');
  peer.addSgxNode('aks-dcsv3-0', '64Gi');
  peer.addNode({ ...(peer.nodes[0] as object), metadata: { name: 'plain-0' }, status: { capacity: { cpu: '4' } } });
  peer.addNamespace('default');
  peer.addNamespace('enclaves', { 'confkube.io/trusted-mrsigners': `${LE_SIGNER}, ${'00'.repeat(32)}` });
  const le = fixtureBytes('admission/intel-le-prod-css_sgx-2.25.bin');
  const broken = Uint8Array.from(le);
  broken[1026] ^= 1;
  peer.addConfigMap('enclaves', 'le', { 'enclave.sig': le });
  peer.addConfigMap('enclaves', 'fortanix', { 'enclave.sig': fixtureBytes('admission/fortanix-test_enclave.sig') });
  peer.addConfigMap('enclaves', 'tampered', { 'enclave.sig': broken });
  peer.addConfigMap('enclaves', 'junk', { 'enclave.sig': new Uint8Array(100) });
  peer.addConfigMap('enclaves', 'text', {}, { 'enclave.sig': 'not binary' });
  await peer.start();
  cluster = kubeCluster({ ttlMs: 60_000 });
});
after(async () => {
  await Promise.all(clusters.map((c) => c.stop()));
  await peer.cleanup();
});

/** Polls `cond` until it holds (a watch event is asynchronous); fails after 15 s so a broken informer cannot hang. */
async function waitUntil(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('condition not reached');
}

function sgxPod(namespace: string, annotations: Record<string, string>, epc = '10Mi') {
  // As the validating pass sees it: already mutated (the enclave device is there).
  const p = asKind('Pod', { metadata: { annotations }, spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/epc': epc, 'sgx.intel.com/enclave': '1' } } }] } });
  (p.metadata as Record<string, unknown>).namespace = namespace;
  return p;
}

test('largest node EPC comes from a node informer (allocatable, one list then a watch) and bounds the request', async () => {
  assert.deepEqual(await cluster.largestEpc(), { bytes: 64 * 2 ** 30, node: 'aks-dcsv3-0' });
  await peer.waitFor('node watch open', () => peer.count('watch', '/api/v1/nodes') === 1);
  const calls = peer.calls.length;
  await cluster.largestEpc();
  assert.equal(peer.calls.length, calls, 'second read is served from the cache');
  // A node that joins arrives through the watch, with no further call.
  peer.addSgxNode('aks-dcsv3-1', '128Gi');
  await waitUntil(async () => (await cluster.largestEpc())?.node === 'aks-dcsv3-1');
  assert.equal(peer.count('list', '/api/v1/nodes'), 1, 'one list in all');
  peer.delete('nodes', 'aks-dcsv3-1');
  await waitUntil(async () => (await cluster.largestEpc())?.node === 'aks-dcsv3-0');
  const r = await reviewRequest(reviewFor(sgxPod('default', {}, '65Gi')), 'validate', { cluster });
  assert.equal(r.response.allowed, false);
  assert.match(r.response.status!.message, /65Gi.*aks-dcsv3-0.*64Gi/);
  assert.equal((await reviewRequest(reviewFor(sgxPod('default', {}, '64Gi')), 'validate', { cluster })).response.allowed, true);
});

test('signer policy: declared MRSIGNER against the namespace list; SIGSTRUCTs from ConfigMaps are verified', async () => {
  const ok = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/mrsigner': LE_SIGNER.toUpperCase(), 'confkube.io/sigstruct': 'le/enclave.sig' })), 'validate', { cluster });
  assert.equal(ok.response.allowed, true, JSON.stringify(ok.response.status));
  const untrusted = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/mrsigner': FORTANIX_SIGNER })), 'validate', { cluster });
  assert.equal(untrusted.response.allowed, false);
  assert.match(untrusted.response.status!.message, /not trusted in namespace "enclaves"/);
  const otherSigner = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/mrsigner': LE_SIGNER, 'confkube.io/sigstruct': 'fortanix/enclave.sig' })), 'validate', { cluster });
  assert.equal(otherSigner.response.allowed, false);
  assert.match(otherSigner.response.status!.message, new RegExp(`signed by MRSIGNER ${FORTANIX_SIGNER}, the pod declares ${LE_SIGNER}`));
  const tampered = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'tampered/enclave.sig' })), 'validate', { cluster });
  assert.equal(tampered.response.allowed, false);
  assert.match(tampered.response.status!.message, /does not verify/);
  const junk = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'junk/enclave.sig' })), 'validate', { cluster });
  assert.match(junk.response.status!.message, /ERR_ENCLAVE_FORMAT/);
  const missing = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'nope/enclave.sig' })), 'validate', { cluster });
  assert.equal(missing.response.allowed, false);
  assert.match(missing.response.status!.message, /could not be read.*404/);
  // Cluster-wide list applies in every namespace; without any list a declared signer passes.
  const clusterList = await reviewRequest(reviewFor(sgxPod('default', { 'confkube.io/mrsigner': FORTANIX_SIGNER })), 'validate', { cluster, trustedMrSigners: [LE_SIGNER] });
  assert.equal(clusterList.response.allowed, false);
  const noList = await reviewRequest(reviewFor(sgxPod('default', { 'confkube.io/mrsigner': FORTANIX_SIGNER, 'confkube.io/sigstruct': 'fortanix/enclave.sig' })), 'validate', { cluster });
  assert.equal(noList.response.allowed, false, 'the ConfigMap lives in "enclaves", not "default"');
  const bad = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/mrsigner': 'xyz' })), 'validate', { cluster });
  assert.match(bad.response.status!.message, /64 hex digits/);
});

test('ordinary pods never reach the API server, even with a cluster configured', async () => {
  const before = peer.calls.length;
  for (const { object } of ordinaryCorpus().slice(0, 50)) {
    const r = await reviewRequest(reviewFor(object), 'validate', { cluster: kubeCluster() });
    assert.equal(r.response.allowed, true);
  }
  assert.equal(peer.calls.length, before);
});

test('ConfigMaps and namespaces are cached; a SIGSTRUCT kept as text says where it belongs', async () => {
  const c = kubeCluster({ ttlMs: 60_000 });
  const pod = sgxPod('enclaves', { 'confkube.io/sigstruct': 'le/enclave.sig' });
  assert.equal((await reviewRequest(reviewFor(pod), 'validate', { cluster: c })).response.allowed, true);
  const calls = peer.calls.length;
  for (let i = 0; i < 5; i++) assert.equal((await reviewRequest(reviewFor(pod), 'validate', { cluster: c })).response.allowed, true);
  assert.equal(peer.calls.length, calls, 'nodes, namespace and ConfigMap all served from the cache');
  // Concurrent reviews share one read.
  const fresh = kubeCluster({ ttlMs: 60_000 });
  const before = peer.calls.length;
  await Promise.all(Array.from({ length: 20 }, () => reviewRequest(reviewFor(pod), 'validate', { cluster: fresh })));
  const reads = peer.requests.slice(before).filter((r) => r.verb !== 'watch').map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(reads.sort(), ['GET /api/v1/namespaces/enclaves', 'GET /api/v1/namespaces/enclaves/configmaps/le', 'GET /api/v1/nodes'].sort());
  const text = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'text/enclave.sig' })), 'validate', { cluster: c });
  assert.equal(text.response.allowed, false);
  assert.match(text.response.status!.message, /in data \(text\), not binaryData/);
});

test('an API server that goes away: the informer cache still answers, then SGX pods get warnings, never a block', async () => {
  const c = kubeCluster({ ttlMs: 1 });
  assert.equal((await c.largestEpc())?.node, 'aks-dcsv3-0');
  await peer.waitFor('watch open', () => c.health().ok && peer.openWatches >= 1);
  peer.failing = true;
  try {
    // The watch breaks and cannot be re-established: the informer reports it, the cache keeps answering.
    peer.dropWatches();
    await peer.waitFor('watch lost', () => !c.health().ok);
    assert.match(String(c.health().reason), /503/);
    assert.equal((await c.largestEpc())?.node, 'aks-dcsv3-0', 'answered from the cache while the watch fails');
    const big = await reviewRequest(reviewFor(sgxPod('default', {}, '65Gi')), 'validate', { cluster: c });
    assert.equal(big.response.allowed, false, 'the cached capacity still bounds requests');
    const gone = kubeCluster({ ttlMs: 1 });
    const pod = sgxPod('default', { 'confkube.io/mrsigner': LE_SIGNER });
    const r = await reviewRequest(reviewFor(pod), 'mutate', { cluster: gone });
    assert.equal(r.response.allowed, true);
    assert.match(r.response.warnings!.join('\n'), /EPC size not checked: nodes could not be read \(HTTP 503/);
    assert.match(r.response.warnings!.join('\n'), /namespace "default" could not be read/);
    const raw = asKind('Pod', { spec: { containers: [{ name: 'app', image: 'x', resources: { limits: { 'sgx.intel.com/sgx_epc_mem_in_MiB': '10' } } }] } });
    const m = await reviewRequest(reviewFor(raw), 'mutate', { cluster: gone });
    assert.equal(m.response.allowed, true);
    assert.ok(m.response.patch, 'the devices are still injected');
    // A SIGSTRUCT that cannot be fetched is not waved through.
    const sig = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'le/enclave.sig' })), 'validate', { cluster: gone });
    assert.equal(sig.response.allowed, false);
    assert.match(sig.response.status!.message, /could not be read.*503/);
    // Ordinary pods: allowed, no patch, no call.
    const calls = peer.calls.length;
    for (const { object } of ordinaryCorpus().slice(0, 20)) {
      const o = await reviewRequest(reviewFor(object), 'mutate', { cluster: gone });
      assert.deepEqual(Object.keys(o.response).sort(), ['allowed', 'uid']);
    }
    assert.equal(peer.calls.length, calls);
  } finally {
    peer.failing = false;
  }
});

test('signer lists add up: the cluster list and the namespace annotation each admit their signers, and only theirs', async () => {
  const fortanix = sgxPod('enclaves', { 'confkube.io/mrsigner': FORTANIX_SIGNER, 'confkube.io/sigstruct': 'fortanix/enclave.sig' });
  const onlyNs = await reviewRequest(reviewFor(fortanix), 'validate', { cluster });
  assert.equal(onlyNs.response.allowed, false);
  assert.match(onlyNs.response.status!.message, new RegExp(`MRSIGNER ${FORTANIX_SIGNER} is not trusted in namespace "enclaves"`));
  const both = await reviewRequest(reviewFor(fortanix), 'validate', { cluster, trustedMrSigners: [FORTANIX_SIGNER] });
  assert.equal(both.response.allowed, true, JSON.stringify(both.response.status));
  const le = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'le/enclave.sig' })), 'validate', { cluster, trustedMrSigners: [FORTANIX_SIGNER] });
  assert.equal(le.response.allowed, true, 'the namespace still trusts the LE signer');
  // A real SIGSTRUCT of an untrusted signer, with no declaration at all, is refused by its own MRSIGNER.
  const undeclared = await reviewRequest(reviewFor(sgxPod('enclaves', { 'confkube.io/sigstruct': 'fortanix/enclave.sig' })), 'validate', { cluster });
  assert.equal(undeclared.response.allowed, false);
  assert.match(undeclared.response.status!.message, new RegExp(`signed by MRSIGNER ${FORTANIX_SIGNER}, which is not trusted`));
  // Declaring nothing under a list: allowed, with a warning that attestation is what checks the real signer.
  const none = await reviewRequest(reviewFor(sgxPod('enclaves', {})), 'mutate', { cluster });
  assert.equal(none.response.allowed, true);
  assert.match(none.response.warnings!.join(), /declares none.*attestation/);
});
