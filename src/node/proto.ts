import { AgentConfigError } from './errors.js';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { findPackageFile } from '../lib/package-file.js';

/** The kubelet device plugin API v1beta1, loaded from proto/ at run time (docs/node.md §Device plugin API). */
export const PROTO_RELATIVE = 'proto/deviceplugin/v1beta1/api.proto';

function findProto(): string {
  const p = findPackageFile(PROTO_RELATIVE, import.meta.url);
  if (p) return p;
  throw new AgentConfigError(`${PROTO_RELATIVE} not found above ${fileURLToPath(import.meta.url)}`);
}

export interface DevicePluginProto {
  Registration: grpc.ServiceClientConstructor;
  DevicePlugin: grpc.ServiceClientConstructor;
}

let cached: DevicePluginProto | null = null;

/**
 * keepCase: the proto's own field names (`devices_ids`, `ID`, `available_deviceIDs`) stay as
 * they are on the wire (docs/node.md §Device plugin API). Maps become plain objects.
 */
export function loadDevicePluginProto(): DevicePluginProto {
  if (cached) return cached;
  const def = protoLoader.loadSync(findProto(), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def).v1beta1 as unknown as DevicePluginProto;
  cached = pkg;
  return pkg;
}

/** Wire messages as plain objects (keepCase names). */
export interface Device {
  ID: string;
  health: string;
  topology?: { nodes: { ID: number }[] } | null;
}
export interface ListAndWatchResponse {
  devices: Device[];
}
export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}
export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options?: DevicePluginOptions;
}
export interface DeviceSpec {
  container_path: string;
  host_path: string;
  permissions: string;
}
export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}
export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: { name: string }[];
}
export interface AllocateRequest {
  container_requests: { devices_ids: string[] }[];
}
export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}
export interface PreferredAllocationRequest {
  container_requests: { available_deviceIDs: string[]; must_include_deviceIDs: string[]; allocation_size: number }[];
}
