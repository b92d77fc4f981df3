import { readFileSync } from 'node:fs';
import { ConfkubeError } from '../lib/errors.js';

/** Exit codes shared by every command: 0 ok, 1 rejected, 2 bad usage or unreadable input. */
export const EXIT_OK = 0;
export const EXIT_REJECTED = 1;
export const EXIT_USAGE = 2;

/** Thrown by commands for bad usage (missing file, bad flag value); main prints it and exits 2. */
export class UsageError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Input a command could not read as what it claims to be: the typed error as JSON or as one `FILE: CODE: message`
 * line, exit 1. Anything else (a UsageError, a bug) goes on to main.
 */
export function reportRejected(file: string, e: unknown, json: boolean | undefined): void {
  if (!(e instanceof ConfkubeError) || e instanceof UsageError) throw e;
  if (json) printJson({ error: { code: e.code, message: e.message } });
  else process.stderr.write(`${file}: ${e.code}: ${e.message}\n`);
  process.exitCode = EXIT_REJECTED;
}

export function readInputFile(path: string, what = 'file'): Uint8Array {
  try {
    const b = readFileSync(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
}

/** Parse a non-negative integer flag value; UsageError on anything else. */
export function parseIntFlag(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw new UsageError(`${flag}: expected an integer 0..${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `500ms`, `15s`, `5m` (a bare number is seconds) → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value);
  if (!m) throw new UsageError(`${flag}: expected a duration like 500ms, 15s or 5m, got ${JSON.stringify(value)}`);
  const n = Number(m[1]);
  return m[2] === 'm' ? n * 60_000 : m[2] === 'ms' ? n : n * 1000;
}

/** `host:port` (IPv6 in brackets) or `off` → a listen address, null for off. */
export function parseListenAddress(value: string, flag: string): { host: string; port: number } | null {
  if (value === 'off' || value === '') return null;
  const i = value.lastIndexOf(':');
  if (i < 0) throw new UsageError(`${flag}: expected host:port or "off", got ${JSON.stringify(value)}`);
  return { host: value.slice(0, i).replace(/^\[|\]$/g, ''), port: parseIntFlag(value.slice(i + 1), `${flag} port`, 65535) };
}
