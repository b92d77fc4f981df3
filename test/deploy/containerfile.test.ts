import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, committed, named } from './helpers.js';

// The image recipe, read statically; scripts/check-image-recipe.sh replays it (CI runs it).
const lines = readFileSync(join(REPO, 'Containerfile'), 'utf8').split('\n').filter((l) => l.trim() && !l.trimStart().startsWith('#'));
const stages: { name: string; lines: string[] }[] = [];
for (const l of lines) {
  const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(l);
  if (from) stages.push({ name: from[1] ?? `stage${stages.length}`, lines: [] });
  else stages.at(-1)?.lines.push(l);
}
const runtime = stages.at(-1)!;

test('the runtime stage copies only package*.json, bin/, proto/ and the built dist/, and runs as 65532', () => {
  const copies = runtime.lines.filter((l) => l.startsWith('COPY')).map((l) => l.split(/\s+/).slice(1).filter((a) => !a.startsWith('--chown')).join(' '));
  assert.deepEqual(copies, ['package.json package-lock.json ./', 'bin ./bin', 'proto ./proto', '--from=build /src/dist ./dist']);
  assert.ok(runtime.lines.includes('USER 65532:65532'));
  assert.ok(runtime.lines.includes('ENTRYPOINT ["node", "bin/confkube.js"]'));
  const install = runtime.lines.find((l) => l.startsWith('RUN npm ci'));
  assert.match(install ?? '', /--omit=dev/, 'production dependencies only');
});

test('the chart runs the image as the user the Containerfile names, with the entrypoint\'s component args', () => {
  // deploy/*.yaml is the chart rendered with its defaults (test/e2e/chart-render.test.ts keeps them equal).
  const objs = [...committed('webhook.yaml'), ...committed('attestation.yaml')];
  for (const name of ['confkube-webhook', 'confkube-attestation']) {
    const c = named(objs, 'Deployment', name).spec.template.spec.containers[0];
    assert.equal(c.securityContext.runAsUser, 65532, name);
    assert.equal(c.command, undefined, `${name} keeps the image's ENTRYPOINT`);
  }
});
