import type { FastifyInstance } from 'fastify';
import { AttestationError, badRequest } from '../attestation/errors.js';
import { BUILTIN_CATALOGUE, clusterTarget, planFromObjects, PlannerError, type Catalogue, type PlanResult, type PlanTarget, type PoolSpec } from '../planner/index.js';
import type { Sessions } from './session.js';
import type { ClusterSource } from './cluster.js';

/** The capacity planner behind the planner page (docs/planner.md): manifests onto catalogue pools and existing nodes. */
export interface Planner {
  catalogue: Catalogue;
  plan(objects: unknown[], target: PlanTarget, clusterName?: string): PlanResult;
}

export function libraryPlanner(catalogue: Catalogue = BUILTIN_CATALOGUE): Planner {
  return {
    catalogue,
    plan: (objects, target, clusterName) => planFromObjects(objects, target, { catalogue, recommend: clusterName ? { clusterName } : true }),
  };
}

/** Most documents one plan request may hold. */
export const MAX_DOCUMENTS = 1000;

/** YAML (one or more `---` documents) or JSON (an object, a list, or a `kind: List`) into objects. */
export async function parseManifests(text: string): Promise<unknown[]> {
  const { loadAllYaml } = await import('@kubernetes/client-node');
  let docs: unknown[];
  try {
    docs = loadAllYaml(text);
  } catch (e) {
    throw badRequest(`manifests: ${(e as Error).message.split('\n')[0]}`, 'InvalidManifest');
  }
  const out = docs.flatMap((d) => {
    if (Array.isArray(d)) return d as unknown[];
    const o = d as { kind?: unknown; items?: unknown } | null;
    return o && o.kind === 'List' && Array.isArray(o.items) ? o.items : [d];
  }).filter((d) => d !== null && d !== undefined);
  if (out.length > MAX_DOCUMENTS) throw badRequest(`manifests: ${out.length} objects, at most ${MAX_DOCUMENTS}`, 'InvalidManifest');
  return out;
}

const poolSchema = {
  type: 'object', additionalProperties: false, required: ['vmSize', 'count'],
  properties: { name: { type: 'string', maxLength: 12 }, vmSize: { type: 'string', maxLength: 64 }, count: { type: 'integer', minimum: 0, maximum: 1000 } },
} as const;

export function planRoutes(app: FastifyInstance, sessions: Sessions, planner: Planner | undefined, cluster: ClusterSource | undefined): void {
  const need = (): Planner => {
    if (!planner) throw new AttestationError(503, 'ServiceUnavailable', 'this service has no capacity planner', 'ERR_DASHBOARD_PLANNER');
    return planner;
  };

  app.get('/ui/api/plan/catalogue', async (req) => {
    sessions.require(req);
    const c = need().catalogue;
    return { source: c.source, sizes: c.sizes.map((s) => ({ name: s.name, family: s.family, vCpus: s.vCpus, memoryBytes: s.memoryBytes, epcBytes: s.epcBytes })) };
  });

  app.post<{ Body: { manifests: string; pools: PoolSpec[]; clusterName?: string; cluster?: boolean } }>('/ui/api/plan', {
    schema: {
      body: {
        type: 'object', additionalProperties: false, required: ['manifests', 'pools'],
        properties: {
          manifests: { type: 'string' }, pools: { type: 'array', maxItems: 50, items: poolSchema }, clusterName: { type: 'string', maxLength: 63 },
          cluster: { type: 'boolean' },
        },
      },
    },
  }, async (req) => {
    sessions.require(req);
    const p = need();
    const objects = req.body.manifests.trim() === '' ? [] : await parseManifests(req.body.manifests);
    const target: PlanTarget = { pools: req.body.pools };
    if (req.body.cluster) {
      // The live cluster: its nodes with what their pods already request, and its unbound pods to place too.
      if (!cluster) throw new AttestationError(409, 'InvalidOperation', 'this service is not connected to a cluster (confkube serve --dashboard-cluster)');
      const live = await cluster.nodesAndPods();
      const t = clusterTarget(live.nodes, live.pods);
      target.nodes = t.nodes;
      objects.push(...t.pending);
    }
    if (objects.length === 0) throw badRequest('nothing to plan: give manifests, or plan the cluster\'s Pending pods', 'InvalidManifest');
    try {
      return p.plan(objects, target, req.body.clusterName);
    } catch (e) {
      if (e instanceof PlannerError) throw badRequest(e.message, e.code === 'ERR_PLAN_INPUT' ? 'InvalidManifest' : 'InvalidParameter');
      throw e;
    }
  });
}
