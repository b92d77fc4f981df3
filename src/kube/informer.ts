import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { silentLogger, type Logger } from '../lib/log.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { describeKubeError } from './client.js';

/** One page of a list call, as every generated `list…` method of @kubernetes/client-node answers. */
export type ListPage<T extends KubernetesObject> = (page: { labelSelector?: string; fieldSelector?: string; limit: number; _continue?: string }) => Promise<KubernetesListObject<T>>;

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** What the watch asks for, e.g. `/api/v1/pods` or `/api/v1/nodes`. */
  path: string;
  /** The list call for the same resource; called page by page (limit + continue). */
  list: ListPage<T>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per list page (the API server's own default for kubectl is 500). */
  pageSize?: number;
  /**
   * Each watch request ends after this long and is re-opened from the last resourceVersion (client-go picks
   * 5–10 minutes; the API server caps it at its own --min-request-timeout anyway).
   */
  watchTimeoutSeconds?: number;
  /** Keeps only what the caller reads of each object (client-go's SetTransform): a Node's image list is most of its bytes. */
  transform?: (obj: T) => T;
  backoff?: BackoffOptions;
  logger?: Logger;
  /** Name in logs and health reports. */
  name: string;
  now?: () => number;
}

export interface DependencyHealth {
  name: string;
  ok: boolean;
  /** When `ok` last changed (ms). */
  since: number;
  reason: string | null;
}

/** A Watch that asks for bookmarks and a bounded request, strips objects, and reports when the stream is open. */
class ObservedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly owner: { watching(): void; failed(e: unknown): void },
    private readonly timeoutSeconds: number,
    private readonly transform: ((o: KubernetesObject) => KubernetesObject) | undefined,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    let failed = false;
    // Bookmarks move the resourceVersion forward on a quiet watch, so a re-watch after a timeout does not land
    // on a version the API server already compacted (410 Gone, then a full re-list).
    const query = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds };
    const ac = await super.watch(path, query, (phase, obj, raw) => {
      const o = obj as KubernetesObject;
      callback(phase, this.transform && (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') ? this.transform(o) : o, raw);
    }, (err) => {
      if (err) {
        failed = true;
        this.owner.failed(err);
      }
      done(err);
    });
    // super.watch resolves once the response headers arrived (200) or the request failed.
    if (!failed) this.owner.watching();
    return ac;
  }
}

/**
 * A shared informer: list (paged) then watch from the list's resourceVersion, re-watch from the last seen
 * version when a watch ends, re-list on 410 Gone (both done by @kubernetes/client-node's ListWatch), and
 * — what ListWatch leaves to its caller — restart with capped backoff after any other error. `health()` says
 * whether the cache is being kept current right now.
 */
export class Informer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private state: DependencyHealth;
  private syncedResolve!: () => void;
  private readonly errorWaiters = new Set<(e: Error) => void>();
  /** Why the last attempt before the first sync failed (answered at once to a caller who cannot wait). */
  private unsyncedError: string | null = null;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;
  hasSynced = false;
  /** List calls made (each page counts once) and watch requests opened, for metrics and benchmarks. */
  lists = 0;
  watches = 0;

  constructor(private readonly opts: InformerOptions<T>) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'informer', informer: opts.name });
    this.backoff = new Backoff(opts.backoff);
    this.now = opts.now ?? Date.now;
    this.state = { name: opts.name, ok: false, since: this.now(), reason: 'not started' };
    this.synced = new Promise((r) => (this.syncedResolve = r));
    const watch = new ObservedWatch(opts.kubeConfig, {
      watching: () => {
        this.watches++;
        this.setHealth(true, null);
      },
      failed: (e) => {
        if (!this.stopped && (e as { name?: string }).name !== 'AbortError') this.setHealth(false, describeKubeError(e));
      },
    }, opts.watchTimeoutSeconds ?? 300, opts.transform as ((o: KubernetesObject) => KubernetesObject) | undefined);
    this.lw = new ListWatch<T>(opts.path, watch, () => this.listAll(), false, opts.labelSelector, opts.fieldSelector);
    this.lw.on('error', (e: unknown) => this.onError(e));
  }

  private async listAll(): Promise<KubernetesListObject<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      this.lists++;
      const page = await this.opts.list({ labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: this.opts.pageSize ?? 500, _continue: cont });
      for (const item of page.items ?? []) items.push(this.opts.transform ? this.opts.transform(item) : item);
      // Every page of one list carries the snapshot's resourceVersion; the watch starts right after it.
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      cont = page.metadata?._continue || undefined;
    } while (cont);
    this.setHealth(true, null);
    this.backoff.reset();
    if (!this.hasSynced) {
      this.hasSynced = true;
      // ListWatch adds the items right after this promise resolves; consumers look once it has.
      queueMicrotask(() => this.syncedResolve());
    }
    return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion }, items };
  }

  private setHealth(ok: boolean, reason: string | null): void {
    if (ok !== this.state.ok) {
      this.state = { name: this.opts.name, ok, since: this.now(), reason };
      if (ok) this.log.info('watching');
    } else if (!ok) {
      this.state.reason = reason;
    }
  }

  private onError(e: unknown): void {
    if (this.stopped) return;
    const reason = describeKubeError(e);
    this.setHealth(false, reason);
    const delay = this.backoff.next();
    this.log.warn('list or watch failed; will retry', { reason, retryInMs: delay, attempt: this.backoff.attempts });
    if (!this.hasSynced) {
      this.unsyncedError = reason;
      for (const w of this.errorWaiters) w(new Error(reason));
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopped) void this.lw.start();
    }, delay);
    // The owner (a server, a device plugin) keeps the process alive; a retry alone must not.
    this.restartTimer.unref();
  }

  /** Resolves once synced; rejects with the reason of a failure before the first sync, or after `ms`. */
  waitForSync(ms: number): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    // Failing already: answer now rather than holding the caller until the next retry.
    if (this.unsyncedError !== null) return Promise.reject(new Error(this.unsyncedError));
    return new Promise<void>((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        this.errorWaiters.delete(fail);
        if (e) reject(e);
        else resolve();
      };
      const fail = (e: Error) => done(e);
      const timer = setTimeout(() => done(new Error(`${this.opts.name}: no complete list from the API server within ${ms} ms`)), ms);
      timer.unref();
      this.errorWaiters.add(fail);
      void this.synced.then(() => done());
    });
  }

  on(verb: 'add' | 'update' | 'delete' | 'change', cb: (obj: T) => void): void {
    this.lw.on(verb, cb);
  }

  list(): readonly T[] {
    return this.lw.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  health(): DependencyHealth {
    return { ...this.state };
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.state = { name: this.opts.name, ok: false, since: this.now(), reason: 'starting' };
    await this.lw.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    await this.lw.stop();
  }
}
