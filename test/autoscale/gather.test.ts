// The gatherer keeps exactly what the agents said last: a pod that left a node goes with the node's next answer,
// an agent that stops answering keeps its samples only until they are too old, and one bad agent spoils no other.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Gatherer, type AgentTarget } from '../../src/autoscale/gather.js';

const line = (uid: string, bytes: number) => `confkube_sgx_pod_epc_mapped_bytes{node="n",namespace="ns",pod="p-${uid}",pod_uid="${uid}",container="c"} ${bytes}\n`;
const pages: Record<string, string | number> = {};
let server: Server;
let base = '';

describe('Gatherer', () => {
  before(async () => {
    server = createServer((req, res) => {
      const page = pages[req.url!.slice(1)];
      if (typeof page === 'number') return void res.writeHead(page).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(page ?? '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => server.close());

  it('replaces a node\'s samples with each answer, ages out a silent agent, isolates a broken one', async () => {
    let now = 1_000_000;
    const errors: string[] = [];
    const targets: AgentTarget[] = [{ name: 'a', url: `${base}/a` }, { name: 'b', url: `${base}/b` }, { name: 'c', url: `${base}/c` }];
    const g = new Gatherer({ targets: () => targets, maxAgeMs: 60_000, now: () => now, onError: (t, e) => errors.push(`${t.name}: ${e.message}`) });
    pages.a = line('a1', 10) + line('a2', 20);
    pages.b = line('b1', 30);
    pages.c = 'confkube_sgx_pod_epc_mapped_bytes{pod_uid="x"} NaN-ish\n';
    await g.gatherOnce();
    assert.deepEqual([g.get('a1')?.mappedBytes, g.get('a2')?.mappedBytes, g.get('b1')?.mappedBytes], [10, 20, 30]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^c: agent c line 1/);

    // a2 left node a; agent b stops answering (HTTP 503).
    pages.a = line('a1', 11);
    pages.b = 503;
    now += 30_000;
    await g.gatherOnce();
    assert.equal(g.get('a1')?.mappedBytes, 11);
    assert.equal(g.get('a2'), undefined, 'a pod gone from its node has no value');
    assert.equal(g.get('b1')?.mappedBytes, 30, 'a silent agent\'s samples stay while young');
    assert.ok(errors.some((e) => /^b: .*HTTP 503/.test(e)));
    now += 31_000;
    assert.equal(g.get('b1'), undefined, 'and are not answered once too old');
    assert.deepEqual([...g.usedByNode()], [['a', 11]]);
  });

  it('an unreadable agent list is reported, not thrown, and keeps the samples', async () => {
    const errors: string[] = [];
    let fail = false;
    pages.a = line('k1', 5);
    const g = new Gatherer({
      targets: () => {
        if (fail) throw new Error('HTTP 503: the API server is shutting down');
        return [{ name: 'a', url: `${base}/a` }];
      },
      onError: (t, e) => errors.push(`${t.name}: ${e.message}`),
    });
    await g.gatherOnce();
    fail = true;
    await g.gatherOnce();
    assert.deepEqual(errors, ['(agent list): HTTP 503: the API server is shutting down']);
    assert.equal(g.get('k1')?.mappedBytes, 5);
  });
});
