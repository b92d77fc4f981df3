// The EPC alert rules against their promtool unit tests (deploy/prometheus/epc-alerts.test.yaml).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const EXAMPLES = fileURLToPath(new URL('../../deploy/examples/autoscale/', import.meta.url));
const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });

describe('EPC alert rules', { skip: promtool.status !== 0 ? 'promtool is not installed' : false }, () => {
  it('promtool check rules and test rules pass', () => {
    for (const args of [['check', 'rules', 'epc-alerts.yaml'], ['test', 'rules', 'epc-alerts.test.yaml']]) {
      const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
      assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    }
  });

  it('the prometheus-adapter rules\' queries are valid PromQL once the adapter fills in its templates', () => {
    const text = readFileSync(join(EXAMPLES, 'prometheus-adapter-rules.yaml'), 'utf8');
    const queries = [...text.matchAll(/metricsQuery: (?:>-\n((?:\s{8}.*\n?)+)|'(.*)')/g)].map((m) => (m[1] ?? m[2]!).replace(/\s+/g, ' ').trim());
    assert.equal(queries.length, 3);
    const filled = queries.map((q) => q.replaceAll('<<.GroupBy>>', 'namespace, pod').replaceAll('<<.LabelMatchers>>', 'namespace="shop",pod=~"web-.*"'));
    const dir = mkdtempSync(join(tmpdir(), 'ck-rules-'));
    try {
      const f = join(dir, 'r.yaml');
      writeFileSync(f, `groups:\n  - name: adapter\n    rules:\n${filled.map((q, i) => `      - record: q${i}\n        expr: ${JSON.stringify(q)}\n`).join('')}`);
      const r = spawnSync('promtool', ['check', 'rules', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
