// confkube/client is what an enclave image carries: it must stay on Node's own modules, and the package must
// export it where the build puts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('src/client and everything it imports use only node: modules', () => {
  const seen = new Set<string>();
  const external = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)) {
      if (m[1].startsWith('.')) walk(resolve(dirname(file), m[1].replace(/\.js$/, '.ts')));
      else external.add(m[1]);
    }
  };
  walk(join(root, 'src/client/index.ts'));
  assert.ok(seen.size >= 6, [...seen].join(' '));
  assert.deepEqual([...external].filter((x) => !x.startsWith('node:')), [], `imported by ${[...seen].map((f) => relative(root, f)).join(', ')}`);
});

test('package.json exports ./client from the build (tsconfig.build: src → dist) and from the source under confkube-source; bin is kept', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8'));
  assert.equal(build.compilerOptions.rootDir, 'src');
  assert.equal(build.compilerOptions.outDir, 'dist');
  assert.deepEqual(pkg.exports['./client'], { types: './dist/client/index.d.ts', 'confkube-source': './src/client/index.ts', default: './dist/client/index.js' });
  assert.ok(existsSync(join(root, pkg.exports['./client']['confkube-source'])));
  assert.deepEqual(pkg.bin, { confkube: 'bin/confkube.js' });
});
