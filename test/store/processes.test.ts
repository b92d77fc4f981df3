// Store clients in separate processes (test/store/helpers/child.ts) on one database: SQLite in a temporary file
// and a real PostgreSQL server started from the Debian package binaries (test/helpers/postgres.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type PolicyRecord, type Store } from '../../src/store/index.js';
import { BACKENDS, startBackend, type Backend } from './helpers/backends.js';
import { spawnStoreChild, type StoreChild } from './helpers/spawn.js';

for (const kind of BACKENDS) {
  describe(`store across processes (${kind})`, () => {
    let backend: Backend;
    const children: StoreChild[] = [];
    const stores: Store[] = [];
    const child = (args: string[]): StoreChild => {
      const c = spawnStoreChild(args);
      children.push(c);
      return c;
    };
    before(async () => { backend = await startBackend(kind); });
    after(async () => {
      for (const c of children) await c.kill9();
      for (const s of stores) await s.close();
      await backend.stop();
    });

    test('five processes opening one empty database at once all migrate it', async () => {
      const url = await backend.freshUrl();
      const cs = Array.from({ length: 5 }, () => child(['open', url]));
      const results = await Promise.all(cs.map((c) => c.exited));
      cs.forEach((c, i) => assert.deepEqual([results[i]!.code, c.lines], [0, ['migrated']], c.stderr()));
      const s = await openStore(url);
      stores.push(s);
      assert.equal(await s.policyVersion(), 0);
      assert.deepEqual(await s.listSigningKeys(), []);
    });

    test('two processes see each other\'s policy writes', async () => {
      const url = await backend.freshUrl();
      const here = await openStore(url);
      stores.push(here);
      const watcher = child(['watch', url, 'SgxEnclave']);
      await watcher.waitFor((l) => l.length >= 1);
      assert.equal(watcher.lines[0], 'ready 0');

      // This process writes; the other process notices through policyVersion and reads the policy.
      const mine = await here.setPolicy({ attestationType: 'SgxEnclave', text: 'from parent', jws: 'j1', hash: 'h1', setAt: 1, setBy: 'parent' });
      await watcher.waitFor((l) => l.length >= 2);
      assert.deepEqual(JSON.parse(watcher.lines[1]!), mine);

      // The other process writes; this one sees the new version and the policy.
      const before = await here.policyVersion();
      const writer = child(['set-policy', url, 'SgxEnclave', 'from child']);
      assert.equal((await writer.exited).code, 0, writer.stderr());
      const theirs = JSON.parse(writer.lines[0]!) as PolicyRecord;
      assert.equal(theirs.version, 2);
      assert.ok((await here.policyVersion()) > before);
      assert.deepEqual(await here.getPolicy('SgxEnclave'), theirs);
      await watcher.waitFor((l) => l.length >= 3);
      assert.deepEqual(JSON.parse(watcher.lines[2]!), theirs);

      // A reset in this process: the other sees no policy.
      await here.resetPolicy('SgxEnclave', 'parent');
      await watcher.waitFor((l) => l.length >= 4);
      assert.equal(watcher.lines[3], 'null');
    });

    test('kill -9 of a process appending audit records loses none of the ids it printed', async () => {
      const url = await backend.freshUrl();
      const appender = child(['append', url, '4']);
      // Killed once a good number of records were acknowledged (counted, not timed).
      await appender.waitFor((l) => l.length >= 300);
      await appender.kill9();
      const exit = await appender.exited;
      assert.equal(exit.signal, 'SIGKILL');
      const printed = appender.lines.map((l) => {
        const [id, tokenId] = l.split(' ');
        return { id: Number(id), tokenId: tokenId! };
      });
      assert.ok(printed.length >= 300);
      const s = await openStore(url);
      stores.push(s);
      const stored = new Map((await s.queryAudit({ limit: 1_000_000 })).map((r) => [r.tokenId, r.id]));
      const lost = printed.filter((p) => stored.get(p.tokenId) !== p.id);
      assert.deepEqual(lost, [], `${lost.length} of ${printed.length} acknowledged audit records are missing after kill -9`);
      // The database is usable after the kill: the next record follows the last one.
      const next = await s.appendAudit({ time: 1, clientAddress: 'x', attestationType: 'SgxEnclave', mrEnclave: null, mrSigner: null, tcbStatus: null, decision: 'error', policyHash: null, tokenId: 'after', simulated: false });
      assert.ok(next > Math.max(...printed.map((p) => p.id)));
    });
  });
}
