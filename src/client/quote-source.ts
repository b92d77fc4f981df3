import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesEqual, toHex } from '../lib/bytes.js';
import { parseQuote } from '../sgx/quote.js';
import { ClientError } from './errors.js';

/** SGX REPORTDATA is 64 bytes (Intel SGX SDK `sgx_report_data_t`; Gramine's `user_report_data`). */
export const REPORT_DATA_SIZE = 64;

/** Where the quote comes from: the enclave runtime's way of turning 64 bytes of report data into an SGX quote. */
export interface QuoteSource {
  /** For messages: `gramine /dev/attestation`, `function`, … */
  readonly description: string;
  /** A quote whose REPORTDATA is `reportData`; the source checks that it is. */
  quote(reportData: Uint8Array): Promise<Uint8Array>;
}

/** An SDK binding, Occlum's or EGo's quote call, or any other: 64 bytes of report data in, a raw SGX quote out. */
export type QuoteFunction = (reportData: Uint8Array) => Promise<Uint8Array>;

/** The default attestation directory: Gramine's pseudo-filesystem (docs/enclave-apps.md §Quote sources). */
export const GRAMINE_ATTESTATION_DIR = '/dev/attestation';

/** REPORTDATA of an SGX quote (v3, v4 or v5), or a reason it has none. */
export function reportDataOf(quote: Uint8Array): Uint8Array {
  const q = parseQuote(quote);
  if (!q.report) throw new Error('the quote is a TDX quote, not an SGX enclave quote');
  return q.report.reportData;
}

function checkReportData(reportData: Uint8Array): void {
  if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_SIZE) {
    throw new ClientError('ERR_CLIENT_CONFIG', `report data must be ${REPORT_DATA_SIZE} bytes, got ${(reportData as Uint8Array)?.length ?? typeof reportData}`);
  }
}

/** Why a quote is not the one asked for, or null when its REPORTDATA is `want`. */
function mismatch(quote: Uint8Array, want: Uint8Array): string | null {
  let got: Uint8Array;
  try {
    got = reportDataOf(quote);
  } catch (e) {
    return `not an SGX quote (${(e as Error).message})`;
  }
  return bytesEqual(got, want) ? null : `its report data is ${toHex(got).slice(0, 16)}…, the client asked for ${toHex(want).slice(0, 16)}…`;
}

/** The quote must carry the report data asked for: else a source handed back a stale or foreign quote. */
export function assertQuoteFor(quote: Uint8Array, reportData: Uint8Array, description: string): Uint8Array {
  const why = mismatch(quote, reportData);
  if (why) throw new ClientError('ERR_CLIENT_REPORT_DATA_MISMATCH', `${description} returned a quote that is not for the report data asked: ${why}`);
  return quote;
}

/** A caller's quote function; the quote it returns must carry the report data it was given. */
export function functionQuoteSource(fn: QuoteFunction, description = 'quote function'): QuoteSource {
  if (typeof fn !== 'function') throw new ClientError('ERR_CLIENT_CONFIG', 'the quote source must be a function (reportData: Uint8Array) => Promise<Uint8Array>');
  return {
    description,
    async quote(reportData) {
      checkReportData(reportData);
      let q: unknown;
      try {
        q = await fn(Uint8Array.from(reportData));
      } catch (e) {
        throw new ClientError('ERR_CLIENT_QUOTE_SOURCE', `${description} failed: ${(e as Error)?.message ?? String(e)}`);
      }
      if (!(q instanceof Uint8Array) || q.length === 0) throw new ClientError('ERR_CLIENT_QUOTE_SOURCE', `${description} returned ${q instanceof Uint8Array ? 'no bytes' : typeof q}, not a quote`);
      return assertQuoteFor(q, reportData, description);
    },
  };
}

export interface AttestationDirOptions {
  /** How long to wait for `quote` to carry the report data written (ms; default 10 000). */
  timeoutMs?: number;
  /** How often to read `quote` again meanwhile (ms; default 25). */
  pollMs?: number;
}

const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Gramine's low-level attestation interface (docs/enclave-apps.md §Quote sources): `attestation_type` reads `dcap`,
 * 64 bytes written to `user_report_data`, then `quote` read. Under Gramine the quote is ready on the first read;
 * a directory that plays the same role for the simulated platform (`confkube sim attestation-dir`) answers
 * shortly after, so the quote is read again until it carries the report data written, up to `timeoutMs`.
 * The pseudo-files hold one report data at a time: calls through one source are serialised.
 */
export function attestationDirQuoteSource(dir: string = GRAMINE_ATTESTATION_DIR, o: AttestationDirOptions = {}): QuoteSource {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const pollMs = o.pollMs ?? 25;
  const description = `attestation directory ${dir}`;
  let tail: Promise<unknown> = Promise.resolve();

  async function once(reportData: Uint8Array): Promise<Uint8Array> {
    let type: string;
    try {
      type = (await readFile(join(dir, 'attestation_type'), 'utf8')).replace(/\0+$/, '').trim();
    } catch (e) {
      throw new ClientError('ERR_CLIENT_QUOTE_SOURCE', `cannot read ${join(dir, 'attestation_type')}: ${errnoOf(e)} (not running under Gramine? set CONFKUBE_ATTESTATION_DIR to a simulated attestation directory, or give the client a quote function)`);
    }
    if (type !== 'dcap') {
      throw new ClientError('ERR_CLIENT_QUOTE_SOURCE', `${join(dir, 'attestation_type')} says ${JSON.stringify(type)}, not "dcap" (the Gramine manifest needs sgx.remote_attestation = "dcap")`);
    }
    try {
      await writeFile(join(dir, 'user_report_data'), reportData);
    } catch (e) {
      throw new ClientError('ERR_CLIENT_QUOTE_SOURCE', `cannot write ${join(dir, 'user_report_data')}: ${errnoOf(e)}`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let why: string;
      try {
        const q = new Uint8Array(await readFile(join(dir, 'quote')));
        const m = mismatch(q, reportData);
        if (m === null) return q;
        why = `the last quote read is not for it: ${m}`;
      } catch (e) {
        why = `cannot read ${join(dir, 'quote')}: ${errnoOf(e)}`;
      }
      if (Date.now() >= deadline) {
        throw new ClientError('ERR_CLIENT_QUOTE_TIMEOUT', `${description}: no quote for the report data written within ${timeoutMs} ms (${why}); is the simulated attestation directory served (confkube sim attestation-dir ${dir})?`);
      }
      await sleep(pollMs);
    }
  }

  return {
    description,
    async quote(reportData) {
      checkReportData(reportData);
      const run = tail.then(() => once(Uint8Array.from(reportData)));
      tail = run.catch(() => undefined);
      return run;
    },
  };
}
