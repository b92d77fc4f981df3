import { loadYaml } from '@kubernetes/client-node';
import { fixtureText } from '../helpers/fixtures.js';
import { applyPatch, type Op } from '../helpers/json-patch.js';
import type { AdmissionReviewOut } from '../../src/admission/index.js';

let uidCounter = 0;

/** An AdmissionReview v1 request as the API server sends it for `object` (CREATE). */
export function reviewFor(object: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const kind = String(object.kind ?? 'Pod');
  const group = kind === 'Pod' ? '' : kind === 'Job' || kind === 'CronJob' ? 'batch' : 'apps';
  const version = 'v1';
  const resource = kind.toLowerCase() + 's';
  const ns = ((object.metadata as Record<string, unknown> | undefined)?.namespace as string | undefined) ?? 'default';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `00000000-0000-0000-0000-${String(++uidCounter).padStart(12, '0')}`,
      kind: { group, version, kind },
      resource: { group, version, resource },
      requestKind: { group, version, kind },
      requestResource: { group, version, resource },
      name: (object.metadata as Record<string, unknown> | undefined)?.name ?? '',
      namespace: ns,
      operation: 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
      ...extra,
    },
  };
}

export function yamlFixture(rel: string): Record<string, unknown> {
  return loadYaml(fixtureText(rel)) as Record<string, unknown>;
}

export function patchOf(out: AdmissionReviewOut): Op[] {
  return out.response.patch ? JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8')) : [];
}

export function patched<T>(object: T, out: AdmissionReviewOut): T {
  return applyPatch(object, patchOf(out));
}

/** The API server serialises quantities as strings; YAML numbers (the FAQ's `10`) arrive as "10". */
export function asApiServerJson<T>(o: T): T {
  return JSON.parse(JSON.stringify(o), (k, v) => (typeof v === 'number' && /sgx|epc|cpu|memory/i.test(k) ? String(v) : v));
}

/** Wrap a pod template spec into each workload kind. */
export function asKind(kind: string, template: { metadata?: Record<string, unknown>; spec: Record<string, unknown> }, name = 'app'): Record<string, unknown> {
  const meta = { name, namespace: 'default' };
  const selector = { matchLabels: { app: name } };
  const tpl = { metadata: { labels: { app: name }, ...(template.metadata ?? {}) }, spec: template.spec };
  switch (kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind, metadata: { ...meta, ...(template.metadata ?? {}) }, spec: template.spec };
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
      return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { selector, template: tpl, ...(kind === 'StatefulSet' ? { serviceName: name } : {}) } };
    case 'Job':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { template: tpl } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: tpl } } } };
    default:
      throw new Error(kind);
  }
}

export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'] as const;
