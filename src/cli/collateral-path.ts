import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collateralFromBundle, collateralFromFiles, type CollateralInput } from '../dcap/collateral.js';
import { UsageError } from './util.js';

/**
 * Collateral from a path: a directory whose files are recognised by content, or one file (a dcap-qvl
 * bundle JSON). Reading the files is the only I/O; recognising them is `src/dcap`'s pure code.
 */
export function loadCollateralPath(path: string): CollateralInput {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new UsageError(`cannot read collateral ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st.isDirectory()) {
    const files = readdirSync(path)
      .filter((n) => !n.startsWith('.') && !/\.(md|txt)$/i.test(n))
      .map((n) => join(path, n))
      .filter((p) => statSync(p).isFile())
      .map((p) => ({ name: p, data: new Uint8Array(readFileSync(p)) }));
    return collateralFromFiles(files);
  }
  const data = new Uint8Array(readFileSync(path));
  const text = Buffer.from(data).toString('utf8').trimStart();
  if (text.startsWith('{') && text.includes('"tcb_info"')) return collateralFromBundle(data, path);
  return collateralFromFiles([{ name: path, data }]);
}
