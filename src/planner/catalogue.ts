import { isObject } from '../admission/pod-spec.js';
import { DEFAULT_SLOTS, ENCLAVE_RESOURCE, EPC_RESOURCE, LABEL_EPC_MIB, LABEL_SGX, MIB, PROVISION_RESOURCE } from '../kube/names.js';
import { PlannerError } from './errors.js';
import { toBase } from './requests.js';
import type { Catalogue, NodeShape, PoolSpec, VmSize } from './types.js';

const GIB = 1024 * MIB;
const DCSV2 = 'https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/general-purpose/dcsv2-series';
const DCSV3 = 'https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/general-purpose/dcsv3-series';
const DCDSV3 = 'https://learn.microsoft.com/en-us/azure/virtual-machines/sizes/general-purpose/dcdsv3-series';

function azure(name: string, family: string, vCpus: number, memoryGiB: number, epcBytes: number, source: string): VmSize {
  return { name, family, vCpus, memoryBytes: memoryGiB * GIB, epcBytes, relativeCost: vCpus, source };
}

/** DCsv3/DCdsv3 rows: vCPU, memory GiB, EPC GiB (docs/planner.md §Catalogue). */
const V3: [number, number, number][] = [[1, 8, 4], [2, 16, 8], [4, 32, 16], [8, 64, 32], [16, 128, 64], [24, 192, 128], [32, 256, 192], [48, 384, 256]];

/**
 * Azure's SGX sizes as Microsoft's size pages give them (docs/planner.md §Catalogue). No prices: Azure's
 * depend on region, agreement and date; `relativeCost` is the vCPU count, and a catalogue file can set
 * `pricePerHour` per size.
 */
export const BUILTIN_CATALOGUE: Catalogue = Object.freeze({
  source: 'built-in',
  maxPods: 110,
  reserved: 'aks',
  sizes: [
    azure('Standard_DC1s_v2', 'DCsv2', 1, 4, 28 * MIB, DCSV2),
    azure('Standard_DC2s_v2', 'DCsv2', 2, 8, 56 * MIB, DCSV2),
    azure('Standard_DC4s_v2', 'DCsv2', 4, 16, 112 * MIB, DCSV2),
    azure('Standard_DC8_v2', 'DCsv2', 8, 32, 168 * MIB, DCSV2),
    ...V3.map(([c, m, e]) => azure(`Standard_DC${c}s_v3`, 'DCsv3', c, m, e * GIB, DCSV3)),
    ...V3.map(([c, m, e]) => azure(`Standard_DC${c}ds_v3`, 'DCdsv3', c, m, e * GIB, DCDSV3)),
  ],
}) as Catalogue;

function num(v: unknown, where: string, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (integer && !Number.isInteger(v))) {
    throw new PlannerError('ERR_PLAN_CATALOGUE', `${where}: expected a ${integer ? 'whole ' : ''}non-negative number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A catalogue file's document (YAML or JSON, already parsed; docs/planner.md §Catalogue file) → a catalogue. */
export function parseCatalogue(doc: unknown, source: string): Catalogue {
  if (!isObject(doc)) throw new PlannerError('ERR_PLAN_CATALOGUE', `${source}: a catalogue is a mapping with "sizes"`);
  const base = doc.extends === 'built-in' ? BUILTIN_CATALOGUE.sizes : [];
  if (doc.extends !== undefined && doc.extends !== 'built-in') throw new PlannerError('ERR_PLAN_CATALOGUE', `${source}: extends: only "built-in" is known, got ${JSON.stringify(doc.extends)}`);
  if (!Array.isArray(doc.sizes)) throw new PlannerError('ERR_PLAN_CATALOGUE', `${source}: "sizes" must be a list`);
  const maxPods = doc.maxPods === undefined ? 110 : num(doc.maxPods, `${source}: maxPods`, true);
  const reserved = doc.reserved ?? (doc.extends === 'built-in' ? 'aks' : 'none');
  if (reserved !== 'aks' && reserved !== 'none') throw new PlannerError('ERR_PLAN_CATALOGUE', `${source}: reserved must be "aks" or "none", got ${JSON.stringify(reserved)}`);
  const sizes = new Map(base.map((s) => [s.name, { ...s }]));
  doc.sizes.forEach((s, i) => {
    const w = `${source}: sizes[${i}]`;
    if (!isObject(s) || typeof s.name !== 'string' || s.name === '') throw new PlannerError('ERR_PLAN_CATALOGUE', `${w}: each size needs a name`);
    const prev = sizes.get(s.name);
    const quantity = (k: string, resource: string) => (s[k] === undefined ? undefined : toBase(resource, s[k] as string | number, `${w} (${s.name})`, 'ERR_PLAN_CATALOGUE'));
    const vCpus = s.vCpus === undefined ? prev?.vCpus : num(s.vCpus, `${w}.vCpus`);
    const memoryBytes = quantity('memory', 'memory') ?? prev?.memoryBytes;
    if (vCpus === undefined || memoryBytes === undefined) throw new PlannerError('ERR_PLAN_CATALOGUE', `${w} (${s.name}): vCpus and memory are required`);
    const size: VmSize = {
      name: s.name,
      family: typeof s.family === 'string' ? s.family : (prev?.family ?? 'custom'),
      vCpus,
      memoryBytes,
      epcBytes: quantity('epc', EPC_RESOURCE) ?? prev?.epcBytes ?? 0,
      relativeCost: s.relativeCost === undefined ? (prev?.relativeCost ?? vCpus) : num(s.relativeCost, `${w}.relativeCost`),
    };
    if (s.pricePerHour !== undefined) size.pricePerHour = num(s.pricePerHour, `${w}.pricePerHour`);
    else if (prev?.pricePerHour !== undefined) size.pricePerHour = prev.pricePerHour;
    if (s.maxPods !== undefined) size.maxPods = num(s.maxPods, `${w}.maxPods`, true);
    if (typeof s.source === 'string') size.source = s.source;
    else if (prev?.source) size.source = prev.source;
    sizes.set(s.name, size);
  });
  const out: Catalogue = { source, maxPods, reserved, sizes: [...sizes.values()] };
  if (typeof doc.currency === 'string') out.currency = doc.currency;
  return out;
}

/**
 * The built-in catalogue (no path), or a catalogue file: `read` returns the file's parsed document (the planner
 * itself reads no files; the CLI reads and parses YAML or JSON).
 */
export function loadCatalogue(path?: string, read?: (path: string) => unknown): Catalogue {
  if (path === undefined) return BUILTIN_CATALOGUE;
  if (!read) throw new PlannerError('ERR_PLAN_CATALOGUE', `catalogue ${path}: no reader given`);
  return parseCatalogue(read(path), path);
}

export function findSize(catalogue: Catalogue, name: string): VmSize {
  const s = catalogue.sizes.find((x) => x.name === name) ?? catalogue.sizes.find((x) => x.name.toLowerCase() === name.toLowerCase() || x.name.toLowerCase() === `standard_${name.toLowerCase()}`);
  if (!s) throw new PlannerError('ERR_PLAN_POOL', `VM size ${JSON.stringify(name)} is not in the catalogue (${catalogue.source}); known: ${catalogue.sizes.map((x) => x.name).join(', ')}`);
  return s;
}

/** AKS's CPU reservation by core count (docs/planner.md §Allocatable): the table, linear from 8 cores on. */
function aksReservedMilliCpu(cores: number): number {
  if (cores <= 1) return 60;
  if (cores <= 2) return 100;
  if (cores <= 4) return 140;
  return 180 + 10 * (cores - 8 > 0 ? cores - 8 : 0);
}

/** AKS (1.29+): kube-reserved memory min(20 MiB × max pods + 50 MiB, 25 % of memory), plus the 100 MiB eviction threshold. */
function aksReservedMemory(memoryBytes: number, maxPods: number): number {
  return Math.min(20 * MIB * maxPods + 50 * MIB, Math.floor(memoryBytes / 4)) + 100 * MIB;
}

/** Pool name AKS accepts: lower-case letters and digits, a letter first, at most 12. */
export function poolName(s: string): string {
  const n = s.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (/^[a-z]/.test(n) ? n : `p${n}`).slice(0, 12);
}

/** The nodes of a pool, labelled as AKS and the confkube node agent label them. */
export function nodesOfPool(catalogue: Catalogue, pool: PoolSpec, index = 0): NodeShape[] {
  const size = findSize(catalogue, pool.vmSize);
  if (!Number.isInteger(pool.count) || pool.count < 0) throw new PlannerError('ERR_PLAN_POOL', `pool ${pool.name ?? pool.vmSize}: count must be a whole number ≥ 0, got ${pool.count}`);
  const name = pool.name ?? poolName(`${size.epcBytes > 0 ? 'sgx' : 'pool'}${index + 1}`);
  const maxPods = pool.maxPods ?? size.maxPods ?? catalogue.maxPods;
  const reservedCpu = catalogue.reserved === 'aks' ? aksReservedMilliCpu(size.vCpus) : 0;
  const reservedMem = catalogue.reserved === 'aks' ? aksReservedMemory(size.memoryBytes, maxPods) : 0;
  const allocatable: Record<string, number> = { cpu: size.vCpus * 1000 - reservedCpu, memory: size.memoryBytes - reservedMem, pods: maxPods };
  if (size.epcBytes > 0) {
    allocatable[EPC_RESOURCE] = size.epcBytes;
    allocatable[ENCLAVE_RESOURCE] = DEFAULT_SLOTS;
    allocatable[PROVISION_RESOURCE] = DEFAULT_SLOTS;
  }
  const out: NodeShape[] = [];
  for (let i = 0; i < pool.count; i++) {
    const node = `aks-${name}-${i}`;
    const labels: Record<string, string> = {
      agentpool: name,
      'kubernetes.azure.com/agentpool': name,
      'node.kubernetes.io/instance-type': size.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': node,
      [LABEL_SGX]: size.epcBytes > 0 ? 'true' : 'false',
      ...(size.epcBytes > 0 ? { [LABEL_EPC_MIB]: String(Math.floor(size.epcBytes / MIB)) } : {}),
      ...(pool.labels ?? {}),
    };
    out.push({ name: node, pool: name, vmSize: size.name, labels, taints: [...(pool.taints ?? [])], allocatable: { ...allocatable } });
  }
  return out;
}
