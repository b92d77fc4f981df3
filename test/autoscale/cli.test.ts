// Bad usage of the autoscale commands exits 2 with a message that names the flag, before touching a cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

describe('confkube autoscale and epc pressure usage', () => {
  it('refuses missing TLS files, bad ports and bad agent URLs', () => {
    const cases: [string[], RegExp][] = [
      [['autoscale'], /--tls-cert and --tls-key are required/],
      [['autoscale', '--tls-cert=/x', '--tls-key=/y', '--port=70000'], /--port/],
      [['autoscale', '--tls-cert=/x', '--tls-key=/y', '--agent-url=ftp://n1/metrics'], /--agent-url: expected http/],
      [['epc', 'pressure', '--agent-port=0'], /--agent-port/],
      [['epc', 'pressure', '--agent-url=not a url'], /--agent-url: not a URL/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(args, { env: { KUBECONFIG: '/nonexistent' } });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
  });
});
