import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { quantityToBytes } from '../kube/quantity.js';
import { findPackageFile } from '../lib/package-file.js';
import { METRICS, podNumber, type ClusterSource, type SampleSource } from './custom-metrics.js';
import { AutoscaleConfigError, MetricsRequestError } from './errors.js';
import { parseSelector } from './label-selector.js';

/** KEDA's external scaler API (proto/keda/externalscaler.proto), served from the same samples as the HPA's API. */
export const KEDA_PROTO = 'proto/keda/externalscaler.proto';

export function findKedaProto(): string {
  const p = findPackageFile(KEDA_PROTO, import.meta.url);
  if (p) return p;
  throw new AutoscaleConfigError(`${KEDA_PROTO} not found above ${fileURLToPath(import.meta.url)}`);
}

export function loadKedaProto(): { ExternalScaler: grpc.ServiceClientConstructor } {
  const def = protoLoader.loadSync(findKedaProto(), { keepCase: true, longs: Number, defaults: true });
  return grpc.loadPackageDefinition(def).externalscaler as unknown as { ExternalScaler: grpc.ServiceClientConstructor };
}

interface ScaledObjectRef {
  name: string;
  namespace: string;
  scalerMetadata: Record<string, string>;
}

/** A ScaledObject's trigger metadata, checked (docs/autoscale.md §KEDA). */
export interface ScalerSpec {
  namespace: string;
  labelSelector: string;
  metric: string;
  /** Per-pod target: a ratio for utilisation, bytes otherwise. */
  target: number;
  activationThreshold: number;
}

function invalid(message: string): grpc.ServiceError {
  return Object.assign(new Error(message), { code: grpc.status.INVALID_ARGUMENT, details: message, metadata: new grpc.Metadata() });
}

export function scalerSpec(ref: ScaledObjectRef | undefined): ScalerSpec {
  const where = `ScaledObject ${ref?.namespace ?? '?'}/${ref?.name ?? '?'}`;
  const md = ref?.scalerMetadata ?? {};
  if (!ref?.namespace) throw invalid(`${where}: no namespace`);
  const labelSelector = md.labelSelector ?? '';
  if (!labelSelector) throw invalid(`${where}: metadata.labelSelector is required (the enclave pods to measure)`);
  try {
    parseSelector(labelSelector, 'labelSelector');
  } catch (e) {
    throw invalid(`${where}: ${(e as Error).message}`);
  }
  const metric = md.metric ?? METRICS.utilization;
  if (!(Object.values(METRICS) as string[]).includes(metric)) throw invalid(`${where}: metadata.metric ${JSON.stringify(metric)} is not one of ${Object.values(METRICS).join(', ')}`);
  const number = (key: string, def?: number): number => {
    const raw = md[key];
    if (raw === undefined || raw === '') {
      if (def === undefined) throw invalid(`${where}: metadata.${key} is required`);
      return def;
    }
    let n: number;
    try {
      n = metric === METRICS.utilization ? Number(raw) : quantityToBytes(raw);
    } catch {
      n = NaN;
    }
    if (!Number.isFinite(n) || n < 0) throw invalid(`${where}: metadata.${key} ${JSON.stringify(raw)} is not a ${metric === METRICS.utilization ? 'ratio' : 'byte quantity'}`);
    return n;
  };
  const target = number('target');
  if (target <= 0) throw invalid(`${where}: metadata.target must be above 0`);
  return { namespace: ref.namespace, labelSelector, metric, target, activationThreshold: number('activationThreshold', 0) };
}

export interface KedaDeps {
  cluster: ClusterSource;
  samples: SampleSource;
  /** How often StreamIsActive looks again (ms). */
  streamIntervalMs?: number;
}

/** The metric's total over the selected pods: KEDA's targets are averages, the HPA divides by replicas. */
export async function scalerValue(spec: ScalerSpec, deps: KedaDeps): Promise<number> {
  const pods = await deps.cluster.listPods(spec.namespace, spec.labelSelector);
  let total = 0;
  for (const p of pods) total += podNumber(spec.metric, p, deps.samples.get(p.uid)) ?? 0;
  return total;
}

const metricName = (spec: ScalerSpec): string => spec.metric.replaceAll('_', '-');

function fail(cb: (e: grpc.ServiceError) => void, e: unknown): void {
  if ((e as grpc.ServiceError).code !== undefined && typeof (e as grpc.ServiceError).code === 'number') return cb(e as grpc.ServiceError);
  const code = e instanceof MetricsRequestError ? (e.status === 404 ? grpc.status.NOT_FOUND : grpc.status.INVALID_ARGUMENT) : grpc.status.UNAVAILABLE;
  cb(Object.assign(new Error((e as Error).message), { code, details: (e as Error).message, metadata: new grpc.Metadata() }));
}

export function kedaImplementation(deps: KedaDeps): grpc.UntypedServiceImplementation {
  return {
    IsActive(call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, cb: grpc.sendUnaryData<unknown>) {
      Promise.resolve().then(async () => {
        const spec = scalerSpec(call.request);
        cb(null, { result: (await scalerValue(spec, deps)) > spec.activationThreshold });
      }).catch((e: unknown) => fail(cb, e));
    },
    GetMetricSpec(call: grpc.ServerUnaryCall<ScaledObjectRef, unknown>, cb: grpc.sendUnaryData<unknown>) {
      try {
        const spec = scalerSpec(call.request);
        cb(null, { metricSpecs: [{ metricName: metricName(spec), targetSize: Math.ceil(spec.target), targetSizeFloat: spec.target }] });
      } catch (e) {
        fail(cb, e);
      }
    },
    GetMetrics(call: grpc.ServerUnaryCall<{ scaledObjectRef?: ScaledObjectRef; metricName: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      Promise.resolve().then(async () => {
        const spec = scalerSpec(call.request.scaledObjectRef);
        const v = await scalerValue(spec, deps);
        cb(null, { metricValues: [{ metricName: call.request.metricName || metricName(spec), metricValue: Math.round(v), metricValueFloat: v }] });
      }).catch((e: unknown) => fail(cb, e));
    },
    StreamIsActive(call: grpc.ServerWritableStream<ScaledObjectRef, unknown>) {
      let spec: ScalerSpec;
      try {
        spec = scalerSpec(call.request);
      } catch (e) {
        call.emit('error', e);
        return;
      }
      let last: boolean | null = null;
      let timer: NodeJS.Timeout | null = null;
      const tick = (): void => {
        scalerValue(spec, deps).then((v) => {
          const active = v > spec.activationThreshold;
          // Sent at once, then whenever the answer changes.
          if (active !== last && !call.cancelled) call.write({ result: active });
          last = active;
        }, () => undefined).finally(() => {
          if (!call.cancelled) timer = setTimeout(tick, deps.streamIntervalMs ?? 5000);
        });
      };
      call.on('cancelled', () => timer && clearTimeout(timer));
      tick();
    },
  };
}

export function addKedaService(server: grpc.Server, deps: KedaDeps): void {
  server.addService(loadKedaProto().ExternalScaler.service, kedaImplementation(deps));
}
