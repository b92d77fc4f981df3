import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SimPlatformError } from './errors.js';
import type { SimPlatform, SimQuoteRequest } from './platform.js';

/** The enclave a simulated attestation directory quotes for: everything of a quote but its report data. */
export type AttestationDirEnclave = Omit<SimQuoteRequest, 'reportData'>;

export interface AttestationDirServer {
  readonly dir: string;
  /** Quotes written so far (the first, for zero report data, included). */
  readonly quotes: number;
  close(): Promise<void>;
}

const REPORT_DATA_SIZE = 64;

/**
 * Play Gramine's `/dev/attestation` pseudo-files for the simulated platform in an ordinary directory
 * (docs/enclave-apps.md §Simulated attestation directory): `attestation_type` says `dcap`; whenever
 * `user_report_data` holds 64 new bytes, `quote` is replaced (written aside, then renamed, so a reader never sees
 * half a quote) by the platform's quote of `enclave` with that report data. Gramine answers within the read; here
 * the app's client reads `quote` again until it carries its report data. Every quote chains to the simulated root,
 * which only a service in simulation mode trusts.
 */
export async function serveAttestationDir(dir: string, platform: SimPlatform, enclave: AttestationDirEnclave, o: { pollMs?: number; onError?: (e: Error) => void } = {}): Promise<AttestationDirServer> {
  const rdFile = join(dir, 'user_report_data');
  const quoteFile = join(dir, 'quote');
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'attestation_type'), 'dcap');
    await writeFile(rdFile, new Uint8Array(REPORT_DATA_SIZE));
  } catch (e) {
    throw new SimPlatformError(`cannot prepare the attestation directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let last: Buffer | null = null;
  let quotes = 0;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  async function serveOnce(): Promise<void> {
    const rd = await readFile(rdFile).catch(() => null);
    // A writer truncates before it writes: an empty or partial file is not a request.
    if (!rd || rd.length !== REPORT_DATA_SIZE || (last && rd.equals(last))) return;
    const quote = platform.quote({ ...enclave, reportData: new Uint8Array(rd) });
    const tmp = join(dir, `.quote.${process.pid}.tmp`);
    await writeFile(tmp, quote);
    await rename(tmp, quoteFile);
    last = rd;
    quotes++;
  }

  /** One check at a time; a change seen meanwhile runs one more. */
  function check(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = serveOnce()
      .catch((e: Error) => o.onError?.(e))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          check();
        }
      });
  }

  await serveOnce();
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, (_event, name) => {
      if (name === null || name === 'user_report_data') check();
    });
    watcher.on('error', () => undefined);
  } catch {
    // No inotify here: the poll below still answers.
  }
  // Watch events can be coalesced or missed (network filesystems, bind mounts): poll as well.
  const poll = setInterval(check, o.pollMs ?? 200);
  poll.unref?.();
  return {
    dir,
    get quotes() {
      return quotes;
    },
    async close() {
      closed = true;
      clearInterval(poll);
      watcher?.close();
      await running;
    },
  };
}
