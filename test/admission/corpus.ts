import { readdirSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import { fixturePath, fixtureText } from '../helpers/fixtures.js';
import { asKind, WORKLOAD_KINDS } from './helpers.js';

/** A deterministic PRNG (mulberry32) so the corpus is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IMAGES = ['nginx:1.25', 'redis:7.2', 'postgres:16', 'busybox:1.36', 'registry.k8s.io/pause:3.9', 'ghcr.io/org/app@sha256:' + 'ab'.repeat(32), 'quay.io/prometheus/node-exporter:v1.7.0'];
const RESOURCES = [
  undefined,
  null,
  {},
  { limits: null, requests: null },
  { requests: { cpu: '100m', memory: '64Mi' } },
  { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '1', memory: '512Mi' } },
  { limits: { 'nvidia.com/gpu': '1' } },
  { limits: { 'hugepages-2Mi': '100Mi', memory: '100Mi' } },
  { limits: { 'ephemeral-storage': '2Gi' } },
  { limits: { 'example.com/foo': '3' }, requests: { 'example.com/foo': '3' } },
  { limits: { 'smarter-devices/fuse': '1' } },
];
const ANNOTATIONS = [undefined, null, {}, { 'prometheus.io/scrape': 'true' }, { 'kubectl.kubernetes.io/restartedAt': '2024-01-01T00:00:00Z' }, { 'sgx.intel.com/other': 'x' }, { 'confkube.io/sgx': 'false' }];

/**
 * Ordinary workloads: none asks for SGX. Hand-written manifests in the shapes of well-known public ones
 * (fixtures/admission/corpus), and generated ones drawing from the shapes that broke other webhooks — nil
 * annotations and resources, empty or missing containers, init and ephemeral containers, huge specs.
 */
export function ordinaryCorpus(): { name: string; object: Record<string, unknown> }[] {
  const out: { name: string; object: Record<string, unknown> }[] = [];
  for (const f of readdirSync(fixturePath('admission/corpus')).sort()) {
    out.push({ name: f, object: loadYaml(fixtureText(`admission/corpus/${f}`)) as Record<string, unknown> });
  }
  const r = rng(20261128);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < 240; i++) {
    const n = i % 17 === 0 ? 0 : i % 23 === 0 ? 120 : 1 + Math.floor(r() * 4);
    const container = (j: number) => {
      const c: Record<string, unknown> = { name: `c${j}`, image: pick(IMAGES) };
      const res = pick(RESOURCES);
      if (res !== undefined) c.resources = structuredClone(res);
      if (r() < 0.3) c.command = pick([['sh', '-c', 'echo hi && sleep 3600'], ['/app'], ['python', '-m', 'http.server']]);
      if (r() < 0.3) c.env = Array.from({ length: i % 23 === 0 ? 200 : 3 }, (_, k) => ({ name: `E${k}`, value: 'x'.repeat(k % 50) }));
      if (r() < 0.2) c.volumeMounts = [{ name: 'v', mountPath: '/v' }];
      if (r() < 0.1) c.securityContext = { privileged: r() < 0.5, runAsNonRoot: true };
      return c;
    };
    const spec: Record<string, unknown> = {};
    if (i % 29 === 0) spec.containers = null;
    else if (i % 31 !== 0) spec.containers = Array.from({ length: n }, (_, j) => container(j));
    if (r() < 0.3) spec.initContainers = Array.from({ length: 1 + Math.floor(r() * 2) }, (_, j) => container(100 + j));
    if (r() < 0.15) spec.ephemeralContainers = [{ name: 'debug', image: 'busybox', targetContainerName: 'c0' }];
    if (r() < 0.3) spec.volumes = [{ name: 'v', emptyDir: {} }];
    if (r() < 0.2) spec.tolerations = null;
    if (r() < 0.2) spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
    const meta: Record<string, unknown> = {};
    const ann = pick(ANNOTATIONS);
    if (ann !== undefined) meta.annotations = ann === null ? null : structuredClone(ann);
    const kind = WORKLOAD_KINDS[i % WORKLOAD_KINDS.length];
    const obj = asKind(kind, { metadata: meta, spec }, `w${i}`);
    if (i % 37 === 0) delete obj.metadata;
    out.push({ name: `generated-${i}-${kind}`, object: obj });
  }
  return out;
}
