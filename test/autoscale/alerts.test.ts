// The EPC alert rules against their promtool unit tests (deploy/prometheus/epc-alerts.test.yaml).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });

describe('EPC alert rules', { skip: promtool.status !== 0 ? 'promtool is not installed' : false }, () => {
  it('promtool check rules and test rules pass', () => {
    for (const args of [['check', 'rules', 'epc-alerts.yaml'], ['test', 'rules', 'epc-alerts.test.yaml']]) {
      const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' });
      assert.equal(r.status, 0, `promtool ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    }
  });
});
