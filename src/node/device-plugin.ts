import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Backoff, type BackoffOptions } from '../kube/backoff.js';
import { charDevice } from './discover.js';
import { RegistrationError } from './errors.js';
import type { Logger } from '../lib/log.js';
import { silentLogger } from '../lib/log.js';
import type { NodeMetrics } from './metrics.js';
import type { DependencyHealth } from '../kube/informer.js';
import {
  DEVICE_PLUGIN_API_VERSION, ENCLAVE_DEVICES, ENCLAVE_RESOURCE, HEALTHY, KUBELET_SOCKET_NAME, PROVISION_DEVICES,
  PROVISION_RESOURCE, UNHEALTHY,
} from './names.js';
import {
  loadDevicePluginProto, type AllocateRequest, type AllocateResponse, type ContainerAllocateResponse, type Device,
  type DevicePluginOptions, type ListAndWatchResponse, type PreferredAllocationRequest, type RegisterRequest,
} from './proto.js';

export type SgxResourceKind = 'enclave' | 'provision';

export interface DevicePluginConfig {
  kind: SgxResourceKind;
  /** Root of the host file system as this process sees it (device nodes and aesmd are looked up under it). */
  hostRoot: string;
  /** The kubelet's device plugin directory as this process sees it (docs/node.md §Device plugin API). */
  pluginDir: string;
  /** Shared slots advertised (Intel's "shared device" trick, docs/node.md §Shared slots; default 110). */
  slots: number;
  /** How often device nodes and the kubelet socket are checked. */
  checkIntervalMs?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
  metrics?: NodeMetrics;
}

const RESOURCE: Record<SgxResourceKind, string> = { enclave: ENCLAVE_RESOURCE, provision: PROVISION_RESOURCE };
const CANDIDATES: Record<SgxResourceKind, readonly string[]> = { enclave: ENCLAVE_DEVICES, provision: PROVISION_DEVICES };

/** Device IDs of the shared slots: `0` … `slots-1`. */
export function deviceIds(slots: number): string[] {
  // Bare slot numbers: the kubelet keys devices by resource name already, and every byte of an ID is paid
  // 110 times in each ListAndWatch response.
  return Array.from({ length: slots }, (_, i) => String(i));
}

/**
 * Identity of a socket file: inode numbers are reused at once on tmpfs, so a delete + re-create
 * between two checks is recognised by the change time too.
 */
function inode(path: string): string | null {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.ino}:${st.ctimeNs}:${st.birthtimeNs}`;
  } catch {
    return null;
  }
}

/**
 * One kubelet device plugin (v1beta1) for `sgx.intel.com/enclave` or `sgx.intel.com/provision`:
 * serves on `<pluginDir>/confkube-sgx-<kind>.sock`, registers on kubelet.sock, streams health over
 * ListAndWatch, and re-serves + re-registers when the kubelet restarts (a new kubelet deletes the
 * plugin sockets and re-creates kubelet.sock, docs/node.md §Kubelet restarts).
 */
export class SgxDevicePlugin {
  readonly kind: SgxResourceKind;
  readonly resourceName: string;
  readonly socketName: string;
  private readonly cfg: DevicePluginConfig;
  private readonly log: Logger;
  private readonly ids: string[];
  private readonly idSet: Set<string>;
  private server: grpc.Server | null = null;
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, ListAndWatchResponse>>();
  private devicePath: string | null = null;
  private kubeletInode: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private registering: Promise<void> | null = null;
  private registerAgain = false;
  private readonly stopController = new AbortController();
  private serving: Promise<void> | null = null;
  private readonly serveBackoff: Backoff;
  private nextServeAt = 0;
  /** Registrations that succeeded (for tests and logs). */
  registrations = 0;
  private registration: DependencyHealth;

  constructor(cfg: DevicePluginConfig) {
    this.cfg = cfg;
    this.kind = cfg.kind;
    this.resourceName = RESOURCE[cfg.kind];
    this.socketName = `confkube-sgx-${cfg.kind}.sock`;
    this.log = (cfg.logger ?? silentLogger).child({ component: 'device-plugin', resource: this.resourceName });
    this.ids = deviceIds(cfg.slots);
    this.idSet = new Set(this.ids);
    this.serveBackoff = new Backoff(cfg.backoff);
    this.registration = { name: `kubelet-registration:${this.resourceName}`, ok: false, since: Date.now(), reason: 'not registered yet' };
  }

  /** Registered with the running kubelet (false from a kubelet restart or socket loss until re-registered). */
  health(): DependencyHealth {
    return { ...this.registration };
  }

  private setRegistered(ok: boolean, reason: string | null): void {
    if (ok !== this.registration.ok) this.registration = { name: this.registration.name, ok, since: Date.now(), reason };
    else if (!ok) this.registration.reason = reason;
  }

  get socketPath(): string {
    return join(this.cfg.pluginDir, this.socketName);
  }

  private get kubeletSocket(): string {
    return join(this.cfg.pluginDir, KUBELET_SOCKET_NAME);
  }

  get healthy(): boolean {
    return this.devicePath !== null;
  }

  private findDevice(): string | null {
    for (const p of CANDIDATES[this.kind]) if (charDevice(this.cfg.hostRoot, p)) return p;
    return null;
  }

  private list(): ListAndWatchResponse {
    const health = this.healthy ? HEALTHY : UNHEALTHY;
    // No topology: the enclave device is not tied to a NUMA node (docs/node.md §Device plugin API: nil = no affinity).
    return { devices: this.ids.map((ID): Device => ({ ID, health })) };
  }

  /**
   * Serve and register. Never throws for a missing kubelet or plugin directory: both are retried
   * with backoff, so the DaemonSet does not crash-loop while the kubelet is down.
   */
  async start(): Promise<void> {
    this.devicePath = this.findDevice();
    this.cfg.metrics?.setPluginHealth(this.resourceName, this.healthy);
    this.kubeletInode = inode(this.kubeletSocket);
    this.reserve();
    await this.serving;
    const every = this.cfg.checkIntervalMs ?? 1000;
    this.timer = setInterval(() => this.check(), every);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A serve in flight finishes first, so the server it binds is the one shut down here.
    await this.serving;
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.server?.forceShutdown();
    this.server = null;
    try {
      unlinkSync(this.socketPath);
    } catch {
      // already gone (the kubelet may have removed it)
    }
    await this.registering?.catch(() => {});
  }

  /** Re-check device nodes and the kubelet socket now (the timer does this periodically). */
  check(): void {
    if (this.stopped) return;
    const dev = this.findDevice();
    if ((dev === null) !== (this.devicePath === null)) {
      this.log.warn(dev ? 'device node is back' : 'device node vanished', { device: dev ?? this.devicePath });
      this.devicePath = dev;
      this.cfg.metrics?.setPluginHealth(this.resourceName, this.healthy);
      const msg = this.list();
      for (const s of this.streams) s.write(msg);
    } else {
      this.devicePath = dev;
    }
    const ownSocket = inode(this.socketPath);
    const kubelet = inode(this.kubeletSocket);
    if (ownSocket === null) {
      // A starting kubelet deletes every socket in the directory (CleanupPluginDirectory).
      if (this.server && !this.serving) this.log.info('plugin socket was removed; serving again and re-registering');
      this.kubeletInode = kubelet;
      this.reserve();
    } else if (kubelet !== null && kubelet !== this.kubeletInode) {
      this.log.info('kubelet socket was re-created; re-registering');
      this.kubeletInode = kubelet;
      this.requestRegistration();
    }
  }

  /** (Re-)serve unless a serve is in flight or backing off; registers once serving. */
  private reserve(): void {
    if (this.serving || this.stopped || Date.now() < this.nextServeAt) return;
    this.serving = this.serve().then(() => {
      this.serveBackoff.reset();
      this.nextServeAt = 0;
      this.requestRegistration();
    }, (e: unknown) => {
      this.setRegistered(false, `cannot serve ${this.socketPath}: ${(e as Error).message}`);
      const delay = this.serveBackoff.next();
      this.nextServeAt = Date.now() + delay;
      this.log.warn('cannot serve the plugin socket (is the kubelet device plugin directory mounted?); will retry', { err: e, socket: this.socketPath, retryInMs: delay });
    }).finally(() => {
      this.serving = null;
    });
  }

  private async serve(): Promise<void> {
    this.server?.forceShutdown();
    this.server = null;
    for (const s of this.streams) s.end();
    this.streams.clear();
    try {
      unlinkSync(this.socketPath);
    } catch {
      // no stale socket
    }
    const proto = loadDevicePluginProto();
    const server = new grpc.Server();
    server.addService(proto.DevicePlugin.service, {
      GetDevicePluginOptions: (_call: unknown, cb: grpc.sendUnaryData<DevicePluginOptions>) =>
        cb(null, { pre_start_required: false, get_preferred_allocation_available: false }),
      ListAndWatch: (call: grpc.ServerWritableStream<unknown, ListAndWatchResponse>) => this.listAndWatch(call),
      Allocate: (call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>, cb: grpc.sendUnaryData<AllocateResponse>) =>
        this.allocate(call.request, cb),
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, { container_responses: call.request.container_requests.map((r) => ({ deviceIDs: preferred(r) })) }),
      PreStartContainer: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${this.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (!err) return resolve();
        server.forceShutdown();
        reject(err);
      }));
    this.server = server;
    this.log.info('serving', { socket: this.socketPath });
  }

  private listAndWatch(call: grpc.ServerWritableStream<unknown, ListAndWatchResponse>): void {
    this.streams.add(call);
    const drop = (): void => {
      this.streams.delete(call);
      // The kubelet holds ListAndWatch open for as long as it runs: its end is the kubelet going away.
      if (this.streams.size === 0 && !this.stopped && !this.registering) this.setRegistered(false, 'the kubelet closed ListAndWatch');
    };
    call.on('cancelled', drop);
    call.on('close', drop);
    call.on('error', drop);
    call.write(this.list());
    this.log.info('kubelet opened ListAndWatch', { devices: this.ids.length, healthy: this.healthy });
  }

  private allocate(req: AllocateRequest, cb: grpc.sendUnaryData<AllocateResponse>): void {
    const device = this.devicePath;
    for (const c of req.container_requests) {
      for (const id of c.devices_ids) {
        if (!this.idSet.has(id)) return cb({ code: grpc.status.INVALID_ARGUMENT, details: `unknown device ${JSON.stringify(id)} for ${this.resourceName}` });
      }
    }
    if (device === null) {
      // docs/node.md §Allocate: on failure, ListAndWatch has already told the kubelet; fail the Allocate.
      return cb({ code: grpc.status.UNAVAILABLE, details: `${this.resourceName}: no ${CANDIDATES[this.kind].join(' or ')} character device on this node` });
    }
    // The device only. Whether a pod quotes through aesmd (and how: the host's or its own sidecar) is the
    // pod's choice, made by the webhook from its quote-provider annotation (docs/kube-operations.md §aesmd).
    const container_responses = req.container_requests.map((): ContainerAllocateResponse => ({
      devices: [{ container_path: device, host_path: device, permissions: 'rw' }],
      mounts: [],
      envs: {},
      annotations: {},
      cdi_devices: [],
    }));
    this.log.info('allocate', { containers: container_responses.length, device });
    cb(null, { container_responses });
  }

  /** Ask for a (re-)registration; concurrent requests coalesce into one more attempt. */
  requestRegistration(): void {
    if (this.stopped) return;
    this.setRegistered(false, 'registering with the kubelet');
    if (this.registering) {
      this.registerAgain = true;
      return;
    }
    this.registering = this.registerLoop().finally(() => {
      this.registering = null;
      if (this.registerAgain && !this.stopped) {
        this.registerAgain = false;
        this.requestRegistration();
      }
    });
  }

  private async registerLoop(): Promise<void> {
    const backoff = new Backoff(this.cfg.backoff);
    while (!this.stopped) {
      this.registerAgain = false;
      try {
        await this.registerOnce();
        this.registrations++;
        this.setRegistered(true, null);
        this.cfg.metrics?.countRegistration(this.resourceName);
        this.log.info('registered with the kubelet', { endpoint: this.socketName });
        return;
      } catch (e) {
        const delay = backoff.next();
        this.setRegistered(false, `registration failed: ${(e as Error).message}`);
        this.log.warn('kubelet registration failed; will retry', { err: e, retryInMs: delay, attempt: backoff.attempts, kubeletSocket: this.kubeletSocket });
        await new Promise<void>((r) => {
          const t = setTimeout(r, delay);
          this.stopController.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
        });
      }
    }
  }

  private registerOnce(): Promise<void> {
    const proto = loadDevicePluginProto();
    const client = new proto.Registration(`unix:${this.kubeletSocket}`, grpc.credentials.createInsecure());
    const req: RegisterRequest = {
      version: DEVICE_PLUGIN_API_VERSION,
      endpoint: this.socketName,
      resource_name: this.resourceName,
      options: { pre_start_required: false, get_preferred_allocation_available: false },
    };
    // The kubelet dials us back inside Register with a 10 s timeout (docs/node.md §Registration).
    const deadline = new Date(Date.now() + 15_000);
    return new Promise<void>((resolve, reject) => {
      (client as unknown as { Register: (r: RegisterRequest, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void })
        .Register(req, { deadline }, (err) => {
          client.close();
          if (err) reject(new RegistrationError(`Register on ${this.kubeletSocket} failed: ${err.details || err.message}`, { code: err.code }));
          else resolve();
        });
    });
  }
}

function preferred(r: PreferredAllocationRequest['container_requests'][number]): string[] {
  const out = [...r.must_include_deviceIDs];
  for (const id of r.available_deviceIDs) {
    if (out.length >= r.allocation_size) break;
    if (!out.includes(id)) out.push(id);
  }
  return out.slice(0, Math.max(r.allocation_size, r.must_include_deviceIDs.length));
}
