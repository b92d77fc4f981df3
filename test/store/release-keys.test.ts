// The key store (ReleaseKeyStore) on both backends: versions numbered without gaps under concurrent rotation from
// several instances, soft delete and recovery within retention, purge, sealed-only secrets bound to name and
// version, and no secret readable in the SQLite file.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AesGcmKeyProtector } from '../../src/store/index.js';
import { StoreKeySource, secretAad } from '../../src/keyrelease/index.js';
import { BACKENDS, suiteBackend } from './helpers/backends.js';

const protector = new AesGcmKeyProtector(Buffer.alloc(32, 9));
const POLICY = { version: '1.0.0', anyOf: [{ authority: 'https://a.example', allOf: [{ claim: 'x-ms-sgx-mrsigner', equals: 'ab' }] }] };
const DAY = 86_400_000;

for (const kind of BACKENDS) {
  describe(`release key store (${kind})`, () => {
    const { backend: theBackend, fresh } = suiteBackend(kind);

    test('rotations from several instances at once get distinct, gapless numbers; the highest is current', async () => {
      const url = await theBackend().freshUrl();
      const stores = await Promise.all(Array.from({ length: 4 }, () => fresh(url)));
      const sources = stores.map((s) => new StoreKeySource(s, protector, () => 1_000));
      await sources[0]!.create('k', { secret: Buffer.from('v0'), policy: POLICY }, { actor: 'test' });
      const rotated = await Promise.all(sources.flatMap((src, i) => [0, 1, 2].map((j) => src.rotate('k', { secret: Buffer.from(`s${i}-${j}`) }))));
      const versions = await stores[0]!.listReleaseKeyVersions('k');
      assert.deepEqual(versions.map((v) => v.seq), Array.from({ length: 13 }, (_, i) => 13 - i));
      assert.equal(new Set(versions.map((v) => v.version)).size, 13);
      assert.deepEqual(new Set(rotated.map((v) => v.seq)), new Set(Array.from({ length: 12 }, (_, i) => i + 2)));
      const current = await sources[1]!.resolve('k', null);
      assert.equal(current?.version, versions[0]!.version);
    });

    test('soft delete: not resolvable, not rotatable, recoverable before purgeAt, purged after with its versions', async () => {
      const s = await fresh();
      let t = 10 * DAY;
      const src = new StoreKeySource(s, protector, () => t);
      const v1 = await src.create('gone', { secret: Buffer.from('x'), policy: POLICY }, { actor: 'test', retentionDays: 7 });
      const deleted = await src.delete('gone');
      assert.equal(deleted.purgeAt, t + 7 * DAY);
      assert.equal(await src.resolve('gone', null), null);
      assert.equal(await src.resolve('gone', v1.version), null);
      assert.equal(await src.exists('gone'), false);
      await assert.rejects(src.rotate('gone', { secret: Buffer.from('y') }), { status: 404 });
      assert.equal(await s.setReleaseKeyVersionEnabled('gone', v1.version, false, t), false, 'a deleted key\'s versions are frozen');
      await assert.rejects(src.create('gone', { secret: Buffer.from('z'), policy: POLICY }, { actor: 'test' }), { status: 409 });
      await src.recover('gone');
      assert.deepEqual((await src.resolve('gone', null))?.secret, new Uint8Array(Buffer.from('x')));
      await src.delete('gone');
      t += 7 * DAY - 1;
      assert.equal(await s.purgeReleaseKeys(t), 0);
      t += 1;
      assert.equal(await s.purgeReleaseKeys(t), 1);
      assert.equal(await s.getReleaseKey('gone'), null);
      assert.deepEqual(await s.listReleaseKeyVersions('gone'), []);
      await assert.rejects(src.recover('gone'), { status: 404 });
    });

    test('secrets are stored only sealed, bound to their key name and version', async () => {
      const url = await theBackend().freshUrl();
      const s = await fresh(url);
      const src = new StoreKeySource(s, protector, () => 5);
      await assert.rejects(s.createReleaseKey({ name: 'plain', createdAt: 1, createdBy: 't', retentionDays: 7, deletedAt: null, purgeAt: null },
        { name: 'plain', version: 'a'.repeat(32), sealedSecret: 'the secret in clear', policy: '{}', enabled: true, createdAt: 1, updatedAt: 1 }), { code: 'ERR_STORE_ARGUMENT' });
      const a = await src.create('a', { secret: Buffer.from('secret of a'), policy: POLICY }, { actor: 't' });
      const b = await src.create('b', { secret: Buffer.from('secret of b'), policy: POLICY }, { actor: 't' });
      // A sealed secret copied to another key's version does not open there.
      const sealedA = (await s.getReleaseKeyVersion('a', null))!.version.sealedSecret;
      await assert.rejects(protector.open(sealedA, secretAad('b', b.version)), { code: 'ERR_KEY_PROTECTION' });
      assert.deepEqual(Buffer.from(await protector.open(sealedA, secretAad('a', a.version))).toString(), 'secret of a');
      if (kind === 'sqlite') {
        // The database file and its WAL, as a host user who can read them sees them.
        const path = url.slice('sqlite:'.length);
        const bytes = Buffer.concat([readFileSync(path), readFileSync(`${path}-wal`)]);
        assert.ok(bytes.includes(Buffer.from('confkube-sealed:')), 'the sealed values are there');
        assert.ok(!bytes.includes(Buffer.from('secret of a')) && !bytes.includes(Buffer.from('secret of b')));
      }
    });
  });
}
