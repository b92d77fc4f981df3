import { formatBytes } from '../admission/epc-quantity.js';
import { at, isObject } from '../admission/pod-spec.js';
import { ENCLAVE_RESOURCE, EPC_RESOURCE, PROVISION_RESOURCE } from '../kube/names.js';
import { BUILTIN_CATALOGUE } from './catalogue.js';
import { REASON_AFFINITY, REASON_TAINT, REASON_TOO_MANY_PODS, REASON_UNSCHEDULABLE, firstUntolerated, fitErrorMessage } from './filters.js';
import { recommend } from './recommend.js';
import { Scheduler } from './scheduler.js';
import type { Catalogue, NodeShape, RecommendOptions } from './types.js';
import { podFromSpec } from './workloads.js';

export interface ExplainInput {
  /** The Pod as stored (already through the webhook), or the pod a manifest makes after the webhook's patch. */
  pod: Record<string, unknown>;
  /** The cluster's nodes, with what their bound pods request (`clusterTarget`). */
  nodes: NodeShape[];
  /** The confkube webhook refuses the object: its message. */
  refusal?: string;
  /** The scheduler's last FailedScheduling message for the pod, if any. */
  schedulerMessage?: string;
  catalogue?: Catalogue;
  recommend?: RecommendOptions;
}

export interface Explanation {
  pod: string;
  /** `refused`: the webhook refuses it; `scheduled`: bound to a node; `pending`: no node takes it; `fits`: a node would take it now. */
  state: 'refused' | 'scheduled' | 'pending' | 'fits';
  /** One paragraph: what stops the pod and what would fix it. */
  text: string;
  /** The scheduler's message: its own event when given, else the planner's rendering of it. */
  schedulerMessage: string | null;
  fixes: string[];
}

const SGX_SHORT = new Set([EPC_RESOURCE, ENCLAVE_RESOURCE, PROVISION_RESOURCE].map((r) => `Insufficient ${r}`));

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function list(names: string[], max = 4): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * "Why is my pod Pending?" (docs/planner.md §Explain): each node's first failing filter, grouped into the
 * causes users meet — no SGX node, EPC exhausted on every SGX node it may use (with the numbers), taints,
 * selectors, cpu/memory/pod count — and what would fix each.
 */
export function explainPod(input: ExplainInput): Explanation {
  const ns = String(at(input.pod, ['metadata', 'namespace']) ?? 'default');
  const name = String(at(input.pod, ['metadata', 'name']) ?? at(input.pod, ['metadata', 'generateName']) ?? '?');
  const id = `${ns}/${name}`;
  if (input.refusal !== undefined) {
    return {
      pod: id,
      state: 'refused',
      text: `The confkube admission webhook refuses ${id}, so the API server never stores it and no scheduler sees it: ${input.refusal.replace(/^confkube: /, '')}. Fix the manifest as the message says and apply it again (a workload's controller retries by itself once its template is fixed; its FailedCreate events carry the same message).`,
      schedulerMessage: null,
      fixes: ['fix the manifest as the webhook says'],
    };
  }
  const nodeName = at(input.pod, ['spec', 'nodeName']);
  if (typeof nodeName === 'string' && nodeName !== '') {
    const phase = String(at(input.pod, ['status', 'phase']) ?? 'Pending');
    return { pod: id, state: 'scheduled', text: `${id} is not waiting for a node: the scheduler bound it to ${nodeName} (phase ${phase}). If it does not start, look at the node (kubectl describe node ${nodeName}) and the pod's events: image, volume and runtime problems come after scheduling.`, schedulerMessage: null, fixes: [] };
  }
  const spec = isObject(input.pod.spec) ? input.pod.spec : {};
  const pod = podFromSpec(spec, { id, namespace: ns, name, workload: `Pod/${name}` });
  const s = new Scheduler(input.nodes, Object.keys(pod.requests));
  const perNode = input.nodes.map((_, i) => s.diagnose(pod, i));
  const reasons: Record<string, number> = {};
  for (const r of perNode) for (const [k, v] of Object.entries(r)) reasons[k] = (reasons[k] ?? 0) + v;
  const rendered = input.nodes.length === 0 ? 'no nodes available to schedule pods' : fitErrorMessage(input.nodes.length, reasons);
  const schedulerMessage = input.schedulerMessage ?? rendered;
  const epc = pod.requests[EPC_RESOURCE] ?? 0;
  const fits = perNode.map((r, i) => (Object.keys(r).length === 0 ? i : -1)).filter((i) => i >= 0);
  if (fits.length > 0) {
    return {
      pod: id,
      state: 'fits',
      text: `Nothing stops ${id} now: ${list(fits.map((i) => input.nodes[i].name))} ${fits.length === 1 ? 'has' : 'have'} room for it and ${fits.length === 1 ? 'matches' : 'match'} its selectors and tolerations. ${input.schedulerMessage ? `The scheduler's last word was "${input.schedulerMessage}"; room has been made since, and it is placed at the next retry.` : 'It should be placed at the scheduler\'s next try.'}`,
      schedulerMessage,
      fixes: [],
    };
  }

  const sentences: string[] = [];
  const fixes: string[] = [];
  const sgxNodes = input.nodes.map((n, i) => ({ n, i })).filter(({ n }) => (n.allocatable[EPC_RESOURCE] ?? 0) > 0);
  const wantsSgx = pod.sgx;
  if (wantsSgx && sgxNodes.length === 0) {
    sentences.push(`${id} asks for SGX (${epc > 0 ? `${formatBytes(epc)} of ${EPC_RESOURCE}` : 'an SGX device'}), but no node of the ${plural(input.nodes.length, 'node')} offers ${EPC_RESOURCE}: the cluster has no SGX node, or the confkube node agent does not run on its SGX nodes (it is what advertises EPC).`);
    fixes.push('add an SGX node pool (below), or start the confkube node agent on the SGX nodes');
  } else {
    sentences.push(`No node takes ${id}${epc > 0 ? `, which asks for ${formatBytes(epc)} of ${EPC_RESOURCE}` : ''}.`);
    const taintNodes = new Map<string, string[]>();
    const selectorNodes: string[] = [];
    const cordoned: string[] = [];
    const epcShort: string[] = [];
    const otherShort = new Map<string, string[]>();
    const plainNodes = new Set<string>();
    perNode.forEach((r, i) => {
      const n = input.nodes[i];
      const isSgxNode = (n.allocatable[EPC_RESOURCE] ?? 0) > 0;
      for (const k of Object.keys(r)) {
        if (!isSgxNode && SGX_SHORT.has(k)) {
          plainNodes.add(n.name);
          continue;
        }
        if (k === REASON_UNSCHEDULABLE) cordoned.push(n.name);
        else if (k === REASON_AFFINITY) selectorNodes.push(n.name);
        else if (k === REASON_TAINT) {
          const t = firstUntolerated(n.taints, pod.tolerations)!;
          const key = `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
          taintNodes.set(key, [...(taintNodes.get(key) ?? []), n.name]);
        }
        else if (k === `Insufficient ${EPC_RESOURCE}`) {
          const u = s.usage(i, EPC_RESOURCE);
          epcShort.push(`${n.name} has ${formatBytes(Math.max(0, u.capacity - u.requested))} free of ${formatBytes(u.capacity)}`);
        } else otherShort.set(k, [...(otherShort.get(k) ?? []), n.name]);
      }
    });
    if (epcShort.length > 0) {
      const all = epcShort.length === sgxNodes.length;
      sentences.push(`EPC is exhausted on ${all ? 'every SGX node' : `${plural(epcShort.length, 'SGX node')}`} it may use: ${list(epcShort, 6)}.`);
      fixes.push(`free EPC (scale down or delete pods holding it), lower the pod's ${EPC_RESOURCE}, or add SGX nodes`);
    }
    for (const [taint, names] of taintNodes) {
      const [, key, value = '', effect] = /^(.*?)(?:=(.*))?:(\w+)$/.exec(taint)!;
      const sgxTainted = names.some((nm) => sgxNodes.some(({ n }) => n.name === nm));
      sentences.push(`${plural(names.length, 'node')} (${list(names)}) ${names.length === 1 ? 'has' : 'have'} the taint ${key}${value ? `=${value}` : ''}:${effect}, which the pod does not tolerate.`);
      fixes.push(
        `add the toleration {key: ${key}, operator: ${value ? 'Equal' : 'Exists'}${value ? `, value: ${value}` : ''}, effect: ${effect}}${sgxTainted && wantsSgx ? ` (or run the webhook with --sgx-taint ${key}${value ? `=${value}` : ''}:${effect} so that SGX pods get it)` : ''}`,
      );
    }
    if (selectorNodes.length > 0) {
      const sel = Object.entries(pod.nodeSelector).map(([k, v]) => `${k}=${v}`);
      const sgxMismatch = selectorNodes.filter((nm) => sgxNodes.some(({ n }) => n.name === nm));
      sentences.push(
        `${plural(selectorNodes.length, 'node')} (${list(selectorNodes)}) ${selectorNodes.length === 1 ? 'does' : 'do'} not match its ${[sel.length ? `nodeSelector ${sel.join(', ')}` : '', pod.affinity ? 'required node affinity' : ''].filter(Boolean).join(' and ')}${sgxMismatch.length ? `, among them ${sgxMismatch.length === sgxNodes.length ? 'every SGX node' : plural(sgxMismatch.length, 'SGX node')}` : ''}.`,
      );
      fixes.push('change the selector or affinity, or label the nodes it should run on');
    }
    if (cordoned.length > 0) {
      sentences.push(`${plural(cordoned.length, 'node')} (${list(cordoned)}) ${cordoned.length === 1 ? 'is' : 'are'} cordoned.`);
      fixes.push(`uncordon ${list(cordoned)} (kubectl uncordon)`);
    }
    if (plainNodes.size > 0) sentences.push(`${plural(plainNodes.size, 'node')} (${list([...plainNodes])}) ${plainNodes.size === 1 ? 'has' : 'have'} no SGX.`);
    for (const [reason, names] of otherShort) {
      const one = names.length === 1;
      sentences.push(`${plural(names.length, 'node')} (${list(names)}) ${reason === REASON_TOO_MANY_PODS ? `already ${one ? 'runs' : 'run'} as many pods as ${one ? 'it' : 'they'} may` : `${one ? 'lacks' : 'lack'} ${reason.replace(/^Insufficient /, '')} for it`}.`);
      fixes.push(reason === REASON_TOO_MANY_PODS ? 'add nodes or raise the pods-per-node limit (--max-pods)' : `lower the pod's ${reason.replace(/^Insufficient /, '')} request or add nodes`);
    }
  }
  // What to add, from the catalogue, beside the existing nodes.
  const rec = recommend([pod], [pod], input.nodes, input.catalogue ?? BUILTIN_CATALOGUE, input.recommend ?? {});
  if (rec.fits && rec.commands.length > 0) sentences.push(`Adding a node would fix it: ${rec.commands[0]}.`);
  else if (rec.unfit.length > 0) sentences.push(`No catalogue size can hold it (${rec.unfit[0].reason}).`);
  sentences.push(`The scheduler ${input.schedulerMessage ? 'says' : 'would say'}: "${schedulerMessage}"`);
  return { pod: id, state: 'pending', text: sentences.join(' '), schedulerMessage, fixes };
}
