// The confkube CLI compiled once for a test run: every `src/**/*.ts` transformed by esbuild (the transform tsx
// applies on the fly) into a fresh folder; every other file of src/ (the dashboard's assets) and every other
// top-level entry of the package (node_modules, proto/, examples/, package.json…) linked beside it.
// Tests that start the CLI as a process run this copy (test/helpers/cli.ts, CONFKUBE_TEST_CLI) instead of loading
// tsx in every process; without it they fall back to src through tsx. The copy is of the tree as it is when the run
// starts, so it never lags the source during that run.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { transformSync } from 'esbuild';

/** Compiles ROOT/src into a new folder; returns the folder and the path of the CLI's entry module in it. */
export function buildTestCli(root) {
  const out = mkdtempSync(join(tmpdir(), 'confkube-test-cli-'));
  const tsconfigRaw = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const target = join(out, relative(root, p)).replace(/\.ts$/, '.js');
        const { code } = transformSync(readFileSync(p, 'utf8'), {
          loader: 'ts', format: 'esm', platform: 'node', target: 'node20', sourcemap: 'inline', sourcefile: p, tsconfigRaw,
        });
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, code);
      } else {
        const target = join(out, relative(root, p));
        mkdirSync(dirname(target), { recursive: true });
        symlinkSync(p, target);
      }
    }
  };
  walk(join(root, 'src'));
  for (const name of readdirSync(root)) if (name !== 'src' && name !== '.git') symlinkSync(join(root, name), join(out, name));
  return { dir: out, main: join(out, 'src/cli/main.js') };
}

export function removeTestCli(dir) {
  rmSync(dir, { recursive: true, force: true });
}
