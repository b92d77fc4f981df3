import { ScrapeError } from './errors.js';
import { parsePodEpc, type PodEpcSample } from './prom-text.js';

/** One node agent's metrics endpoint. */
export interface AgentTarget {
  /** The node (or any stable name) for messages and staleness. */
  name: string;
  url: string;
}

export interface GatherOptions {
  /** Where the agents are; called before every round, so a watch or list can change the set. */
  targets: () => Promise<AgentTarget[]> | AgentTarget[];
  /** Time between rounds (ms). */
  intervalMs?: number;
  /** Per-agent timeout (ms). */
  timeoutMs?: number;
  /** Agents read at once. */
  concurrency?: number;
  /** Samples older than this are dropped, so a gone agent's pods are not answered for ever (ms). */
  maxAgeMs?: number;
  /** Sent as a bearer token to the agents, where their metrics sit behind authentication. */
  token?: () => string | undefined;
  now?: () => number;
  onError?: (target: AgentTarget, e: Error) => void;
}

export interface TimedSample extends PodEpcSample {
  node: string;
  /** When the agent answered (ms since epoch). */
  at: number;
}

/**
 * Reads the node agents' Prometheus metrics in rounds and keeps the latest per-pod EPC by pod UID
 * (docs/autoscale.md §Gathering: one HTTP GET per agent per round, nothing through the API server).
 */
export class Gatherer {
  private readonly samples = new Map<string, TimedSample>();
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private readonly now: () => number;
  rounds = 0;

  constructor(private readonly o: GatherOptions) {
    this.now = o.now ?? Date.now;
  }

  get(podUid: string): TimedSample | undefined {
    const s = this.samples.get(podUid);
    if (s && this.now() - s.at > (this.o.maxAgeMs ?? 120_000)) return undefined;
    return s;
  }

  /** EPC in use per node: the sum over the node's pods of the latest answer (docs/autoscale.md §Pressure). */
  usedByNode(): Map<string, number> {
    const out = new Map<string, number>();
    const maxAge = this.o.maxAgeMs ?? 120_000;
    const now = this.now();
    for (const s of this.samples.values()) {
      if (now - s.at > maxAge) continue;
      out.set(s.node, (out.get(s.node) ?? 0) + (s.cgroupBytes ?? s.mappedBytes));
    }
    return out;
  }

  size(): number {
    return this.samples.size;
  }

  /** One round now (concurrent callers share it). */
  gatherOnce(): Promise<void> {
    this.round ??= this.doRound().finally(() => {
      this.round = null;
      this.rounds++;
    });
    return this.round;
  }

  start(): void {
    const tick = (): void => {
      void this.gatherOnce().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, this.o.intervalMs ?? 15_000);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async doRound(): Promise<void> {
    let targets: AgentTarget[];
    try {
      targets = await this.o.targets();
    } catch (e) {
      // The agent list is unreadable this round (API server away): keep the samples, try again next round.
      this.o.onError?.({ name: '(agent list)', url: '' }, e as Error);
      return;
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const t = targets[next++]!;
        try {
          this.put(t, await this.scrape(t));
        } catch (e) {
          this.o.onError?.(t, e as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 64, targets.length) }, worker));
    const maxAge = this.o.maxAgeMs ?? 120_000;
    const now = this.now();
    for (const [uid, s] of this.samples) if (now - s.at > maxAge) this.samples.delete(uid);
  }

  private put(t: AgentTarget, pods: PodEpcSample[]): void {
    const at = this.now();
    // A pod that left this node must not keep its last value: drop the node's older samples first.
    for (const [uid, s] of this.samples) if (s.node === t.name) this.samples.delete(uid);
    for (const p of pods) this.samples.set(p.podUid, { ...p, node: t.name, at });
  }

  private async scrape(t: AgentTarget): Promise<PodEpcSample[]> {
    const token = this.o.token?.();
    let res: Response;
    try {
      res = await fetch(t.url, {
        headers: { accept: 'text/plain;version=0.0.4', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5000),
      });
    } catch (e) {
      throw new ScrapeError(`agent ${t.name} (${t.url}): ${(e as Error).message}`);
    }
    if (res.status !== 200) throw new ScrapeError(`agent ${t.name} (${t.url}): HTTP ${res.status}`);
    return parsePodEpc(await res.text(), `agent ${t.name}`);
  }
}
