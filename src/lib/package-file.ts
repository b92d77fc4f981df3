import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file shipped with the package (`proto/…`), found from a module's own URL: `src/<part>/` in the tree and
 * `dist/src/<part>/` once built sit at different depths, so walk up to the package root. Null when absent.
 */
export function findPackageFile(relative: string, fromModuleUrl: string): string | null {
  let dir = dirname(fileURLToPath(fromModuleUrl));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, relative);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return null;
}
