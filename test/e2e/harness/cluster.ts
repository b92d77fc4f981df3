// One confkube installation on the real control plane, shared by a test file: the cluster, two simulated nodes
// (an SGX node laid out like a DCsv3 VM with two NUMA nodes, and a plain node), the chart installed with helm,
// and the node agents, the webhook and the attestation service running as stand-ins for their pods.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeHostTree, type HostTree } from '../../node/host-tree.js';
import { Api } from './api.js';
import { eventually, startControlPlane, type ControlPlane } from './control-plane.js';
import { Kubelets } from './kubelets.js';
import { runningPod, startStandIn, type PodLike } from './stand-ins.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART = join(ROOT, 'deploy/helm/confkube');
export const NS = 'confkube-system';
export const SGX_NODE = 'sgx-0';
export const PLAIN_NODE = 'plain-0';

export interface Installed {
  cp: ControlPlane;
  api: Api;
  kubelets: Kubelets;
  hosts: Record<string, HostTree>;
  webhookIp: string;
  /** The webhook stand-in's /tls folder (its Secret volume). */
  webhookTls: string;
  attestationIp: string;
  /** Folder of the attestation stand-in's /var/lib/confkube (its simulated platform lives there). */
  attestationData: string;
  helm(args: string[]): Promise<string>;
  /** Stops and starts a node agent stand-in again (after its node was re-created, for instance). */
  agents: Map<string, { child: import('node:child_process').ChildProcess }>;
  stop(): Promise<void>;
}

export async function installConfkube(values: string[] = []): Promise<Installed> {
  const cp = await startControlPlane();
  const api = new Api(cp.server, cp.pki);
  const webhookIp = cp.net.allocate();
  const attestationIp = cp.net.allocate();
  const component = (p: { metadata: { labels?: Record<string, string> } }) => p.metadata.labels?.['app.kubernetes.io/component'];
  const kubelets = new Kubelets(api, {
    podIp: (pod) => (component(pod) === 'webhook' ? webhookIp : component(pod) === 'attestation' ? attestationIp : undefined),
  });
  const hosts: Record<string, HostTree> = {};
  const agents = new Map<string, { child: import('node:child_process').ChildProcess }>();
  const scratch = mkdtempSync(join(tmpdir(), 'ck-e2e-pods-'));
  // Asynchronous: the simulated kubelets run in this process and must keep working while helm waits.
  const helm = async (args: string[]): Promise<string> => {
    try {
      return (await execFileAsync(join(cp.bin, 'helm'), ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8' })).stdout;
    } catch (e) {
      throw new Error(`helm ${args.slice(0, 2).join(' ')} failed: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
    }
  };
  const stop = async (): Promise<void> => {
    await kubelets.stop();
    api.close();
    await cp.stop();
    for (const h of Object.values(hosts)) await h.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    hosts[SGX_NODE] = await makeHostTree('dcsv3');
    hosts[PLAIN_NODE] = await makeHostTree('no-sgx');
    await kubelets.add({ name: SGX_NODE, zeroedOnRecreate: ['sgx.intel.com/epc'] });
    await kubelets.add({ name: PLAIN_NODE });
    kubelets.start();

    // The attestation service's SQLite volume: a PersistentVolume the claim binds to, as a storage class would give.
    cp.kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'confkube-e2e-data' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: join(scratch, 'pv') }, persistentVolumeReclaimPolicy: 'Delete' },
    }));
    await helm(['install', 'confkube', CHART, '--namespace', NS, '--create-namespace', '--wait', '--timeout', '5m',
      '--set', 'tls.mode=helm', '--set', 'webhook.replicas=1', '--set', 'attestation.simulation=true', ...values]);

    // The webhook, in the pod network at its pod's address, with the chart's serving certificate.
    const webhookPod = await runningPod(api, NS, 'app.kubernetes.io/component=webhook');
    const webhook = await startStandIn(cp, api, webhookPod, 'webhook', { mounts: {}, scratch, inPodNetwork: true, extraArgs: [`--address=${webhookIp}`] });
    const webhookTls = webhook.mounts['/tls']!;

    // The attestation service, the same way, with its data volume in a local folder.
    const attestationPod = await runningPod(api, NS, 'app.kubernetes.io/component=attestation');
    const attestationData = join(scratch, 'attestation-data');
    mkdirSync(attestationData, { recursive: true, mode: 0o700 });
    await startStandIn(cp, api, attestationPod, 'attestation', {
      mounts: { '/var/lib/confkube': attestationData }, scratch, inPodNetwork: true,
      extraArgs: [`--listen=${attestationIp}:8443`],
    });

    // A node agent per node, on the node's fixture host root and its simulated kubelet's plugin folder.
    for (const name of [SGX_NODE, PLAIN_NODE]) await startAgent(cp, api, kubelets, hosts, agents, name, scratch);

    await eventually('EPC and enclave slots on the SGX node', async () => {
      const n = (await api.get(`/api/v1/nodes/${SGX_NODE}`)) as { status: { allocatable: Record<string, string> } };
      return Number(n.status.allocatable['sgx.intel.com/epc'] ?? 0) > 0 && Number(n.status.allocatable['sgx.intel.com/enclave'] ?? 0) > 0;
    }, 60_000);
    return { cp, api, kubelets, hosts, webhookIp, webhookTls, attestationIp, attestationData, helm, agents, stop };
  } catch (e) {
    process.stderr.write(['webhook', 'attestation', `agent-${SGX_NODE}`, 'kube-apiserver'].map((n) => `--- ${n}\n${cp.logTail(n, 15)}`).join('\n'));
    await stop();
    throw e;
  }
}

export async function startAgent(cp: ControlPlane, api: Api, kubelets: Kubelets, hosts: Record<string, HostTree>,
  agents: Installed['agents'], name: string, scratch: string): Promise<void> {
  const pod: PodLike = await runningPod(api, NS, 'app.kubernetes.io/component=node-agent', name);
  const node = kubelets.nodes.get(name)!;
  const { child } = await startStandIn(cp, api, pod, `agent-${name}`, {
    mounts: { '/host': hosts[name]!.root, '/var/lib/kubelet/device-plugins': node.pluginDir }, scratch,
    inPodNetwork: false,
    // The pod's metrics port is per pod; on one machine two agents would share it.
    extraArgs: ['--metrics-address=off'],
  });
  agents.set(name, { child });
}
