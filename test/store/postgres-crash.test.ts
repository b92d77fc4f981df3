// PostgreSQL server crash: a real server from the Debian package binaries (test/helpers/postgres.ts) stopped with
// `pg_ctl -m immediate` (no checkpoint, no WAL flush: what a crash leaves) while another process appends audit records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type Store } from '../../src/store/index.js';
import { startPostgres } from '../helpers/postgres.js';
import { spawnStoreChild } from './helpers/spawn.js';

test('a server crash loses no acknowledged audit record, even where the database defaults to synchronous_commit=off', async () => {
  const pg = await startPostgres();
  let survivor: Store | undefined;
  try {
    // An operator's asynchronous-commit default would let COMMIT return before the WAL is flushed (PostgreSQL docs
    // §30.4): the store must not inherit it for its own sessions.
    await pg.sql('CREATE DATABASE lazy');
    await pg.sql('ALTER DATABASE lazy SET synchronous_commit = off');
    assert.equal(await pg.sql('SHOW synchronous_commit', 'lazy'), 'off');
    const url = pg.url.replace(/\/postgres$/, '/lazy');

    // A store open across the crash, as a running service replica's would be.
    survivor = await openStore(url);
    await survivor.setPolicy({ attestationType: 'SgxEnclave', text: 'before', jws: 'j', hash: 'h', setAt: 1, setBy: 'x' });

    const appender = spawnStoreChild(['append', url, '8']);
    try {
      await appender.waitFor((l) => l.length >= 500);
      await pg.crash();
      const exit = await appender.exited;
      assert.notEqual(exit.code, 0, 'the appender fails once the server is gone');
    } finally {
      await appender.kill9();
    }
    const printed = appender.lines.map((l) => {
      const [id, tokenId] = l.split(' ');
      return { id: Number(id), tokenId: tokenId! };
    });

    await survivor.policyVersion().then(
      () => assert.fail('a call while the server is down must fail'),
      (e: { code?: string }) => assert.equal(e.code, 'ERR_STORE_UNAVAILABLE'));
    await pg.restart();
    // The pool dropped its dead connections: the replica's store works again without being reopened.
    assert.equal((await survivor.getPolicy('SgxEnclave'))?.text, 'before');
    const s = await openStore(url);
    try {
      const stored = new Map((await s.queryAudit({ limit: 1_000_000 })).map((r) => [r.tokenId, r.id]));
      const lost = printed.filter((p) => stored.get(p.tokenId) !== p.id);
      assert.deepEqual(lost, [], `${lost.length} of ${printed.length} acknowledged audit records are missing after the crash`);
    } finally {
      await s.close();
    }
  } finally {
    await survivor?.close();
    await pg.stop();
  }
});
