import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Who may read the store: the owner only. WAL and SHM files take the database file's mode (SQLite's unix VFS copies it). */
export const FILE_MODE = 0o600;
export const FOLDER_MODE = 0o700;

/**
 * Creates the database file 0600 if it is new (before SQLite creates it with the process umask), so the
 * signing keys, policies and audit log are the owner's alone from the first byte.
 */
export function createPrivateFile(path: string): void {
  if (path === ':memory:' || path === '' || existsSync(path)) return;
  try {
    closeSync(openSync(path, 'a', FILE_MODE));
  } catch {
    // A missing folder or a read-only place: SQLite's own open reports it, typed.
  }
}

/** The store's files and folder whose mode lets group or others in, each as a sentence for the start-up warning. */
export function looseModes(path: string): string[] {
  if (path === ':memory:' || path === '') return [];
  const out: string[] = [];
  const check = (p: string, want: number, what: string): void => {
    let mode: number;
    try {
      mode = statSync(p).mode & 0o777;
    } catch {
      return;
    }
    if ((mode & 0o077) !== 0) out.push(`${what} ${p} has mode ${mode.toString(8).padStart(4, '0')} (want ${want.toString(8).padStart(4, '0')}): other local users can read the store`);
  };
  check(dirname(resolve(path)), FOLDER_MODE, 'store folder');
  for (const suffix of ['', '-wal', '-shm']) check(path + suffix, FILE_MODE, 'store file');
  return out;
}
