import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ClaimMap, PolicyBudget, PolicyOutcome } from './deps.js';
import { AttestationError } from './errors.js';
import type { DraftReply, DraftTask } from './policy-worker.js';

export interface PolicyPoolOptions {
  /** Threads evaluating drafts at once (default: one per core beyond the first, at most 4, at least 1). */
  workers: number;
  /** Drafts waiting for a thread; more are refused with 429. */
  maxQueue: number;
  /** Steps and wall time per draft (compile + evaluate). A thread still busy after `maxMs` is stopped. */
  budget: PolicyBudget;
  /** Heap of one thread (MiB); a draft that needs more fails like one that runs too long. */
  heapMb: number;
}

export const defaultPoolOptions = (budget: PolicyBudget): PolicyPoolOptions => ({
  workers: Math.max(1, Math.min(4, availableParallelism() - 1)), maxQueue: 32, budget, heapMb: 64,
});

export type DraftResult = { outcome: PolicyOutcome } | { compileError: string };

interface Pending { task: DraftTask; resolve(r: DraftResult): void; reject(e: Error): void }
interface Slot { worker: Worker; ready: boolean; job: Pending | null; timer: NodeJS.Timeout | null }

const budgetError = (why: string): AttestationError => new AttestationError(400, 'PolicyEvaluationError', `draftPolicyForAttestation: ${why}`, 'ERR_POLICY_BUDGET');

/**
 * Draft policies (`draftPolicyForAttestation`) come from anyone who can reach the service, so they are compiled
 * and evaluated on worker threads, never on the thread that answers requests: a draft that overruns its wall-time
 * budget or its heap is stopped with its thread, and the request fails with 400 (docs/attestation-limits.md).
 */
export class PolicyPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly o: PolicyPoolOptions) {}

  /** Drafts being evaluated now, and waiting for a thread. */
  get load(): { running: number; waiting: number } {
    return { running: this.slots.filter((s) => s.job !== null).length, waiting: this.queue.length };
  }

  run(text: string, claims: ClaimMap): Promise<DraftResult> {
    if (this.closed) return Promise.reject(new AttestationError(503, 'ServiceUnavailable', 'the service is stopping'));
    if (this.queue.length >= this.o.maxQueue) {
      return Promise.reject(new AttestationError(429, 'TooManyRequests', `draftPolicyForAttestation: ${this.o.maxQueue} drafts already waiting; retry later`, 'ERR_TOO_MANY_DRAFTS'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { id: this.nextId++, text, claims, budget: this.o.budget }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new AttestationError(503, 'ServiceUnavailable', 'the service is stopping'));
    await Promise.all(this.slots.splice(0).map((s) => {
      if (s.timer) clearTimeout(s.timer);
      s.job?.reject(new AttestationError(503, 'ServiceUnavailable', 'the service is stopping'));
      return s.worker.terminate();
    }));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.ready && s.job === null);
      if (!slot) {
        // A new thread takes the queue once it has loaded; its start-up is not charged to any draft.
        if (this.slots.length < this.o.workers && this.slots.every((s) => s.ready)) this.spawn();
        return;
      }
      const job = this.queue.shift()!;
      slot.job = job;
      const s = slot;
      s.timer = setTimeout(() => this.fail(s, budgetError(`evaluation exceeded its ${this.o.budget.maxMs} ms budget`)), this.o.budget.maxMs);
      s.worker.postMessage(job.task);
    }
  }

  private spawn(): Slot {
    const worker = startWorker(this.o.heapMb);
    worker.unref();
    const slot: Slot = { worker, ready: false, job: null, timer: null };
    worker.on('message', (r: DraftReply | 'ready') => {
      if (r === 'ready') {
        slot.ready = true;
        this.dispatch();
        return;
      }
      const job = slot.job;
      if (!job || job.task.id !== r.id) return;
      if (slot.timer) clearTimeout(slot.timer);
      slot.job = null;
      slot.timer = null;
      job.resolve('outcome' in r ? { outcome: r.outcome } : { compileError: r.compileError });
      this.dispatch();
    });
    worker.on('error', (e: Error & { code?: string }) => {
      if (!slot.ready) {
        // A thread that cannot even start fails what waits rather than being restarted in a loop.
        this.slots.splice(this.slots.indexOf(slot), 1);
        for (const p of this.queue.splice(0)) p.reject(new AttestationError(503, 'ServiceUnavailable', `policy evaluation thread failed to start: ${e.message}`));
        return;
      }
      this.fail(slot, e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? budgetError(`evaluation exceeded its heap budget (${this.o.heapMb} MiB)`) : budgetError(`evaluation failed (${e.message})`));
    });
    this.slots.push(slot);
    return slot;
  }

  /** Stop the slot's thread, fail its draft, and carry on with a fresh thread for the queue. */
  private fail(slot: Slot, err: AttestationError): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.timer) clearTimeout(slot.timer);
    slot.job?.reject(err);
    slot.job = null;
    void slot.worker.terminate();
    if (!this.closed) this.dispatch();
  }
}

/** The worker from its compiled `.js`; from TypeScript sources (tests, benchmarks) through tsx's loader. */
function startWorker(heapMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: Math.max(4, heapMb >> 3), stackSizeMb: 4 };
  if (import.meta.url.endsWith('.js')) return new Worker(new URL('./policy-worker.js', import.meta.url), { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./policy-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, resourceLimits });
}
