// The KEDA external scaler over gRPC on a unix socket, called by a client built from KEDA's own proto
// (proto/keda/externalscaler.proto), against totals computed here.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { addKedaService, findKedaProto } from '../../src/autoscale/keda.js';
import type { PodView } from '../../src/autoscale/custom-metrics.js';
import type { TimedSample } from '../../src/autoscale/gather.js';
import { matches, parseSelector } from '../../src/autoscale/label-selector.js';

const MIB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'ck-keda-'));
const socket = `unix://${join(dir, 'scaler.sock')}`;
const pods: (PodView & { labels: Record<string, string> })[] = [
  { namespace: 'shop', name: 'w1', uid: 'u1', requestBytes: 64 * MIB, labels: { app: 'web' } },
  { namespace: 'shop', name: 'w2', uid: 'u2', requestBytes: 64 * MIB, labels: { app: 'web' } },
  { namespace: 'shop', name: 'w3', uid: 'u3', requestBytes: 32 * MIB, labels: { app: 'web' } },
  { namespace: 'shop', name: 'db', uid: 'u4', requestBytes: 128 * MIB, labels: { app: 'db' } },
];
const used: Record<string, number> = { u1: 48 * MIB, u2: 16 * MIB, u4: 100 * MIB };
const samples = new Map<string, TimedSample>();
const setUsed = (): void => {
  samples.clear();
  for (const [uid, b] of Object.entries(used)) samples.set(uid, { namespace: 'shop', pod: uid, podUid: uid, cgroupBytes: b, mappedBytes: 0, node: 'n', at: Date.now() });
};

let server: grpc.Server;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let client: any;
const call = <T>(method: string, req: unknown): Promise<T> => new Promise((resolve, reject) => client[method](req, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));
const ref = (md: Record<string, string>) => ({ name: 'web', namespace: 'shop', scalerMetadata: md });

describe('KEDA external scaler', () => {
  before(async () => {
    setUsed();
    server = new grpc.Server();
    addKedaService(server, {
      cluster: { listPods: async (ns, sel) => pods.filter((p) => p.namespace === ns && matches(parseSelector(sel, 's'), p.labels)), objectPods: async () => [] },
      samples: { get: (u) => samples.get(u) }, streamIntervalMs: 20,
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(socket, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    // The client from KEDA's proto as KEDA's Go client sees it: proto field names.
    const def = protoLoader.loadSync(findKedaProto(), { keepCase: true, longs: Number, defaults: true });
    const { ExternalScaler } = grpc.loadPackageDefinition(def).externalscaler as unknown as { ExternalScaler: grpc.ServiceClientConstructor };
    client = new ExternalScaler(socket, grpc.credentials.createInsecure());
  });
  after(() => {
    client?.close();
    server?.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetMetricSpec: the target per pod; GetMetrics: the total over the selected pods (KEDA averages it per replica)', async () => {
    const md = { labelSelector: 'app=web', metric: 'sgx_epc_utilization', target: '0.5' };
    const spec = await call<{ metricSpecs: { metricName: string; targetSizeFloat: number; targetSize: number }[] }>('GetMetricSpec', ref(md));
    assert.deepEqual(spec.metricSpecs, [{ metricName: 'sgx-epc-utilization', targetSize: 1, targetSizeFloat: 0.5 }]);
    const m = await call<{ metricValues: { metricName: string; metricValueFloat: number }[] }>('GetMetrics', { scaledObjectRef: ref(md), metricName: 'sgx-epc-utilization' });
    // w1 48/64, w2 16/64, w3 no sample (counts 0): 0.75 + 0.25.
    assert.equal(m.metricValues[0]!.metricName, 'sgx-epc-utilization');
    assert.equal(m.metricValues[0]!.metricValueFloat, 1);
    const bytes = await call<{ metricValues: { metricValue: number; metricValueFloat: number }[] }>('GetMetrics', { scaledObjectRef: ref({ labelSelector: 'app=web', metric: 'sgx_epc_used_bytes', target: '32Mi' }), metricName: 'x' });
    assert.equal(bytes.metricValues[0]!.metricValue, 64 * MIB);
    const bspec = await call<{ metricSpecs: { targetSizeFloat: number }[] }>('GetMetricSpec', ref({ labelSelector: 'app=web', metric: 'sgx_epc_used_bytes', target: '32Mi' }));
    assert.equal(bspec.metricSpecs[0]!.targetSizeFloat, 32 * MIB);
  });

  it('IsActive above the activation threshold; StreamIsActive sends at once and on every change', async () => {
    assert.deepEqual(await call('IsActive', ref({ labelSelector: 'app=web', target: '0.5', activationThreshold: '0.9' })), { result: true });
    assert.deepEqual(await call('IsActive', ref({ labelSelector: 'app=web', target: '0.5', activationThreshold: '1.5' })), { result: false });
    const stream = client.StreamIsActive(ref({ labelSelector: 'app=web', target: '0.5', activationThreshold: '0.5' }));
    const ended = new Promise<number>((resolve) => stream.on('error', (e: grpc.ServiceError) => resolve(e.code)));
    const got: boolean[] = [];
    const next = (): Promise<boolean> => new Promise((resolve) => stream.once('data', (r: { result: boolean }) => resolve(r.result)));
    got.push(await next());
    used.u1 = 0;
    used.u2 = 0;
    setUsed();
    got.push(await next());
    stream.cancel();
    assert.equal(await ended, grpc.status.CANCELLED);
    assert.deepEqual(got, [true, false]);
    used.u1 = 48 * MIB;
    used.u2 = 16 * MIB;
    setUsed();
  });

  it('bad trigger metadata is INVALID_ARGUMENT that says what', async () => {
    for (const [md, re] of [
      [{ target: '0.5' }, /labelSelector is required/],
      [{ labelSelector: 'app in (', target: '0.5' }, /labelSelector/],
      [{ labelSelector: 'app=web', metric: 'cpu', target: '1' }, /metric "cpu"/],
      [{ labelSelector: 'app=web' }, /target is required/],
      [{ labelSelector: 'app=web', target: 'lots' }, /not a ratio/],
      [{ labelSelector: 'app=web', metric: 'sgx_epc_used_bytes', target: '12Q' }, /not a byte quantity/],
    ] as const) {
      await assert.rejects(call('GetMetricSpec', ref(md)), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && re.test(e.details));
    }
    const stream = client.StreamIsActive(ref({ target: '1' }));
    const err = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  });
});
