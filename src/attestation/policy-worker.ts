// One thread of the draft-policy pool (policy-pool.ts): compile a policy and evaluate it within its budget.
import { parentPort } from 'node:worker_threads';
import type { ClaimMap, PolicyBudget } from './deps.js';
import { policyEngine } from './policy-engine.js';

export interface DraftTask { id: number; text: string; claims: ClaimMap; budget: PolicyBudget }
export type DraftReply =
  | { id: number; outcome: import('./deps.js').PolicyOutcome }
  | { id: number; compileError: string };

parentPort?.on('message', (t: DraftTask) => {
  let reply: DraftReply;
  try {
    const compiled = policyEngine.compile(t.text);
    reply = { id: t.id, outcome: compiled.evaluate(t.claims, t.budget) };
  } catch (e) {
    reply = { id: t.id, compileError: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply);
});
parentPort?.postMessage('ready');
