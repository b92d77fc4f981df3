// The tree a test run executes: every `.ts` of src/, test/ and support/ transformed by esbuild (the transform tsx
// applies on the fly, done once here instead of in every test process) into a fresh folder, each next to a link
// to its source; every other file (fixtures, the dashboard's assets) and every other top-level entry of the
// package (node_modules, proto/, examples/, deploy/, package.json…) linked. Test files then run with plain node,
// and tests that start the CLI run `src/cli/main.js` of the same copy (test/helpers/cli.ts, CONFKUBE_TEST_CLI).
// The copy is of the tree as it is when the run starts, so it never lags the source during that run.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { transformSync } from 'esbuild';

const COMPILED = ['src', 'test', 'support'];

/** Compiles ROOT's TypeScript into a new folder; returns the folder and the path of the CLI's entry module in it. */
export function buildTests(root) {
  const out = mkdtempSync(join(tmpdir(), 'confkube-test-build-'));
  const tsconfigRaw = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8'));
  const link = (p) => {
    const target = join(out, relative(root, p));
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(p, target);
    return target;
  };
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (name === 'fixtures' || name === 'node_modules') link(p);
        else walk(p);
        continue;
      }
      const target = link(p);
      if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const { code } = transformSync(readFileSync(p, 'utf8'), {
          loader: 'ts', format: 'esm', platform: 'node', target: 'node20', sourcemap: 'inline', sourcefile: p, tsconfigRaw,
        });
        writeFileSync(target.replace(/\.ts$/, '.js'), code);
      }
    }
  };
  for (const d of COMPILED) walk(join(root, d));
  for (const name of readdirSync(root)) if (!COMPILED.includes(name) && name !== '.git') symlinkSync(join(root, name), join(out, name));
  return { dir: out, main: join(out, 'src/cli/main.js') };
}

export function removeBuild(dir) {
  rmSync(dir, { recursive: true, force: true });
}
