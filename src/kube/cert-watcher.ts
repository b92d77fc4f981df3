import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname } from 'node:path';
import { silentLogger, type Logger } from '../lib/log.js';
import { TlsFilesError } from './errors.js';

export interface TlsPair {
  cert: string;
  key: string;
  /** SHA-256 of the leaf certificate (DER), lower-case hex. */
  fingerprint: string;
  notAfter: Date;
}

export interface CertWatcherOptions {
  certFile: string;
  keyFile: string;
  /**
   * Files are also re-read this often (ms; 0 = never), for file systems where directory events do not arrive
   * (some network and overlay mounts) and for a directory that was itself replaced.
   */
  pollMs?: number;
  /** Watch the directories for changes (default true). */
  watchFiles?: boolean;
  logger?: Logger;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TlsFilesError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Read and check a key and certificate: both parse, the key is the certificate's, and TLS accepts them. */
export function loadTlsPair(certFile: string, keyFile: string): TlsPair {
  const cert = readPem(certFile, 'TLS certificate');
  const key = readPem(keyFile, 'TLS key');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (e) {
    throw new TlsFilesError(`${certFile}: not a PEM certificate (${(e as Error).message})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw new TlsFilesError(`${keyFile}: not a PEM private key (${(e as Error).message})`);
  }
  // A renewal writes two files; between the two writes the pair does not match and must not be served.
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsFilesError(`${keyFile} is not the private key of the certificate in ${certFile}`);
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new TlsFilesError(`${certFile}, ${keyFile}: rejected by TLS (${(e as Error).message})`);
  }
  return { cert, key, fingerprint: createHash('sha256').update(leaf.raw).digest('hex'), notAfter: new Date(leaf.validTo) };
}

/**
 * Serves the current key and certificate and reloads them when the files change, as controller-runtime's
 * certwatcher does (docs/kube-operations.md §TLS). A Secret volume is updated by writing a new timestamped
 * directory and renaming the `..data` symlink, so the files' own inodes never change: the watch is on the
 * directories, and every event or poll re-reads both files. A pair that does not load (half-written, key of
 * another certificate) is logged and the last good pair stays in service.
 */
export class CertWatcher {
  private pair: TlsPair;
  private readonly log: Logger;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private readonly listeners: ((p: TlsPair) => void)[] = [];
  private readonly failureListeners: ((reason: string) => void)[] = [];
  private lastError: string | null = null;
  reloads = 0;
  failures = 0;

  constructor(private readonly opts: CertWatcherOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'cert-watcher' });
    this.pair = loadTlsPair(opts.certFile, opts.keyFile);
  }

  get current(): TlsPair {
    return this.pair;
  }

  /** Called with every new pair after it was loaded and checked. */
  onChange(listener: (p: TlsPair) => void): void {
    this.listeners.push(listener);
  }

  /** Called once for each new reason the files fail to load (not again while the same failure persists). */
  onFailure(listener: (reason: string) => void): void {
    this.failureListeners.push(listener);
  }

  start(): void {
    if (this.opts.watchFiles ?? true) {
      for (const dir of new Set([dirname(this.opts.certFile), dirname(this.opts.keyFile)])) {
        try {
          const w = watch(dir, { persistent: false }, () => this.schedule());
          w.on('error', (e) => this.log.warn('cannot watch the TLS directory; polling only', { dir, err: e }));
          this.watchers.push(w);
        } catch (e) {
          this.log.warn('cannot watch the TLS directory; polling only', { dir, err: e });
        }
      }
    }
    const every = this.opts.pollMs ?? 10_000;
    if (every > 0) {
      this.timer = setInterval(() => this.reload(), every);
      this.timer.unref();
    }
  }

  /** Events come in bursts (several files, a symlink swap): one reload after they settle. */
  private schedule(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = null;
      this.reload();
    }, 50);
    this.pending.unref();
  }

  /** Re-read the files now; true when a new pair went into service. */
  reload(): boolean {
    let next: TlsPair;
    try {
      next = loadTlsPair(this.opts.certFile, this.opts.keyFile);
    } catch (e) {
      const msg = (e as Error).message;
      if (msg !== this.lastError) {
        this.failures++;
        for (const l of this.failureListeners) l(msg);
        this.log.warn('TLS files do not load; still serving the previous certificate', { reason: msg, fingerprint: this.pair.fingerprint });
      }
      this.lastError = msg;
      return false;
    }
    this.lastError = null;
    if (next.cert === this.pair.cert && next.key === this.pair.key) return false;
    const before = this.pair.fingerprint;
    this.pair = next;
    this.reloads++;
    for (const l of this.listeners) l(next);
    this.log.info('TLS certificate reloaded', { from: before, to: next.fingerprint, notAfter: next.notAfter.toISOString() });
    return true;
  }

  stop(): void {
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
    this.timer = this.pending = null;
  }
}
