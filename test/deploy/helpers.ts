import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every document of a YAML stream as plain JSON objects (client-node's typed models, rounded through JSON). */
export function parseAll(text: string): Obj[] {
  return loadAllYaml(text).filter((o) => o).map((o) => JSON.parse(JSON.stringify(o)) as Obj);
}

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = join(REPO, 'deploy/helm/confkube');
/** The Kubernetes release the tests run against (scripts/build-k8s.sh). */
export const K8S_VERSION = '1.36.3';

/**
 * helm from the pinned control-plane build. Missing helm is a failure, not a skip: CI builds it first
 * (scripts/build-k8s.sh), and a skipped chart test would let the manifests drift unnoticed.
 */
export function helmPath(): string {
  const script = join(REPO, 'scripts/build-k8s.sh');
  if (!existsSync(script)) throw new Error(`helm not found: ${script} is missing`);
  const r = spawnSync('bash', [script, '--print'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !bin || !existsSync(join(bin, 'helm'))) {
    throw new Error('helm not found: `scripts/build-k8s.sh --print` reports the pinned control plane (with helm) is not built; run scripts/build-k8s.sh first (CI does)');
  }
  return join(bin, 'helm');
}

export function helm(args: string[]): string {
  return execFileSync(helmPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `helm template` of the chart as release confkube in namespace confkube, with --set pairs. */
export function render(set: Record<string, string | number | boolean> = {}): Obj[] {
  const args = ['template', 'confkube', CHART, '--namespace', 'confkube', '--kube-version', K8S_VERSION];
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
  return parseAll(helm(args));
}

/** `helm template` expected to fail: its error text. */
export function renderError(set: Record<string, string>): string {
  const args = ['template', 'confkube', CHART, '--namespace', 'confkube', '--kube-version', K8S_VERSION];
  for (const [k, v] of Object.entries(set)) args.push('--set', `${k}=${v}`);
  const r = spawnSync(helmPath(), args, { encoding: 'utf8' });
  if (r.status === 0) throw new Error(`helm template succeeded with ${JSON.stringify(set)}`);
  return r.stderr;
}

/** The committed plain manifests (deploy/*.yaml), by file name. */
export function committed(file: string): Obj[] {
  return parseAll(readFileSync(join(REPO, 'deploy', file), 'utf8'));
}

export const byKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
export const named = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};
