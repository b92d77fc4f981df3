// The simulated pod network: a network namespace of the test's own with a veth pair (iproute2, as root). The API
// server refuses loopback addresses in Endpoints and EndpointSlices, so a process that stands in for a pod
// (the webhook, the attestation service, an aggregated API server) listens on an address in this namespace,
// and the API server reaches it through the veth pair without leaving the machine (docs/e2e.md §Pod network).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const SUBNET = '172.31.213';

export interface PodNetwork {
  name: string;
  /** The address of the host's side of the pair: where processes in the namespace reach the API server. */
  hostIp: string;
  /** A fresh pod address inside the namespace (already configured). */
  allocate(): string;
  /** Spawns a command inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createPodNetwork(): PodNetwork {
  if (process.getuid?.() !== 0) throw new Error('the e2e pod network needs root (ip netns, veth): run as root, as CI does');
  const id = (process.pid % 10_000).toString();
  const name = `ck-e2e-${id}`;
  const hostIf = `ckh${id}`;
  const podIf = `ckp${id}`;
  const hostIp = `${SUBNET}.1`;
  // A namespace left by a killed run would hold the same names: remove it first.
  try {
    ip(['netns', 'del', name]);
  } catch {
    // none left
  }
  ip(['netns', 'add', name]);
  ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf]);
  ip(['link', 'set', podIf, 'netns', name]);
  ip(['addr', 'add', `${hostIp}/24`, 'dev', hostIf]);
  ip(['link', 'set', hostIf, 'up']);
  ip(['-n', name, 'link', 'set', 'lo', 'up']);
  ip(['-n', name, 'addr', 'add', `${SUBNET}.2/24`, 'dev', podIf]);
  ip(['-n', name, 'link', 'set', podIf, 'up']);
  let next = 10;
  return {
    name,
    hostIp,
    allocate() {
      if (next > 250) throw new Error('pod network: out of addresses');
      const addr = `${SUBNET}.${next++}`;
      ip(['-n', name, 'addr', 'add', `${addr}/24`, 'dev', podIf]);
      return addr;
    },
    spawn(cmd, args, opts = {}) {
      return spawn('ip', ['netns', 'exec', name, cmd, ...args], opts);
    },
    destroy() {
      try {
        ip(['netns', 'del', name]); // removes the veth pair with it
      } catch {
        // already gone
      }
    },
  };
}
