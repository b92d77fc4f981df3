// Test peer standing in for the kubelet's device manager, because a real kubelet cannot run in
// the test environment. It speaks the real v1beta1 proto (proto/deviceplugin/v1beta1/api.proto)
// over unix sockets the way the kubelet does (docs/node.md §Registration, docs/node.md §Kubelet restarts): it serves Registration
// on kubelet.sock, dials the plugin's socket inside Register, calls GetDevicePluginOptions, keeps
// ListAndWatch open, and calls Allocate. restart() behaves like a new kubelet: it deletes every
// socket in the directory and re-creates kubelet.sock.
import { EventEmitter } from 'node:events';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadDevicePluginProto } from '../../src/node/proto.js';
import type { AllocateResponse, DevicePluginOptions, ListAndWatchResponse, RegisterRequest } from '../../src/node/proto.js';

interface Endpoint {
  resource: string;
  client: grpc.Client;
  stream: grpc.ClientReadableStream<ListAndWatchResponse> | null;
  options: DevicePluginOptions | null;
  lists: ListAndWatchResponse[];
}

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

export class KubeletPeer extends EventEmitter {
  readonly dir: string;
  server: grpc.Server | null = null;
  registrations: RegisterRequest[] = [];
  readonly endpoints = new Map<string, Endpoint>();
  /** Set to make Register fail (a kubelet rejecting the request). */
  reject: string | null = null;

  constructor(dir: string) {
    super();
    this.dir = dir;
  }

  get socket(): string {
    return join(this.dir, 'kubelet.sock');
  }

  async start(): Promise<void> {
    const proto = loadDevicePluginProto();
    const server = new grpc.Server();
    server.addService(proto.Registration.service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.register(call.request).then(() => cb(null, {}), (e: Error) => cb({ code: grpc.status.UNKNOWN, details: e.message }));
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${this.socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    this.server = server;
  }

  private async register(req: RegisterRequest): Promise<void> {
    if (this.reject) throw new Error(this.reject);
    // Kubelet validation: supported version, extended resource name (docs/node.md §Registration).
    if (req.version !== 'v1beta1') throw new Error(`unsupported version ${req.version}`);
    if (!req.resource_name.includes('/') || req.resource_name.startsWith('kubernetes.io/')) throw new Error(`invalid resource name ${req.resource_name}`);
    const old = this.endpoints.get(req.resource_name);
    if (old) {
      old.stream?.cancel();
      old.client.close();
    }
    const proto = loadDevicePluginProto();
    const client = new proto.DevicePlugin(`unix:${join(this.dir, req.endpoint)}`, grpc.credentials.createInsecure());
    // The kubelet dials synchronously with a 10 s timeout inside Register.
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
    const ep: Endpoint = { resource: req.resource_name, client, stream: null, options: null, lists: [] };
    this.endpoints.set(req.resource_name, ep);
    ep.options = await new Promise<DevicePluginOptions>((resolve, reject) =>
      (client as unknown as { GetDevicePluginOptions: Unary<object, DevicePluginOptions> }).GetDevicePluginOptions({}, {}, (e, r) => (e ? reject(e) : resolve(r))));
    const stream = (client as unknown as { ListAndWatch: (req: object) => grpc.ClientReadableStream<ListAndWatchResponse> }).ListAndWatch({});
    ep.stream = stream;
    stream.on('data', (msg: ListAndWatchResponse) => {
      ep.lists.push(msg);
      this.emit('list', req.resource_name, msg);
    });
    stream.on('error', () => {
      // cancelled on restart/stop, or the plugin went away
    });
    this.registrations.push(req);
    this.emit('registered', req);
  }

  /** The latest device list the plugin sent for `resource`. */
  latest(resource: string): ListAndWatchResponse | undefined {
    const l = this.endpoints.get(resource)?.lists;
    return l?.[l.length - 1];
  }

  allocate(resource: string, containers: string[][]): Promise<AllocateResponse> {
    const ep = this.endpoints.get(resource);
    if (!ep) throw new Error(`${resource} is not registered`);
    return new Promise((resolve, reject) =>
      (ep.client as unknown as { Allocate: Unary<object, AllocateResponse> }).Allocate(
        { container_requests: containers.map((ids) => ({ devices_ids: ids })) }, { deadline: Date.now() + 10_000 },
        (e, r) => (e ? reject(e) : resolve(r))));
  }

  private closeEndpoints(): void {
    for (const ep of this.endpoints.values()) {
      ep.stream?.cancel();
      ep.client.close();
    }
    this.endpoints.clear();
  }

  /** A new kubelet: stop, remove every socket in the directory (CleanupPluginDirectory), serve again. */
  async restart(): Promise<void> {
    await this.stop();
    for (const name of readdirSync(this.dir)) {
      const p = join(this.dir, name);
      if (statSync(p).isSocket()) unlinkSync(p);
    }
    await this.start();
  }

  async stop(): Promise<void> {
    this.closeEndpoints();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.tryShutdown(() => r()));
    try {
      unlinkSync(this.socket);
    } catch {
      // already removed
    }
  }

  /** Resolves when `pred` holds, re-checked on every event; rejects after `ms` so a broken plugin cannot hang the suite. */
  waitFor(what: string, pred: () => boolean, ms = 15_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (pred()) {
          cleanup();
          resolve();
        }
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for: ${what}`));
      }, ms);
      const i = setInterval(check, 20);
      const cleanup = (): void => {
        clearTimeout(t);
        clearInterval(i);
        this.off('list', check);
        this.off('registered', check);
      };
      this.on('list', check);
      this.on('registered', check);
    });
  }
}
