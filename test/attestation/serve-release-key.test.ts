// `confkube serve --release-key NAME=SECRET_FILE:POLICY_FILE` imports into the key store: two processes starting
// together on one SQLite file create one version between them, a restart with the same files writes nothing, a
// changed policy file becomes a new version, and the stored secret is sealed under the KEK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTlsCertificate } from '../../src/attestation/index.js';
import { openStore } from '../../src/store/index.js';
import { secretAad } from '../../src/keyrelease/index.js';
import { testKeyProtector } from './helpers/harness.js';
import { startServeProcess } from './helpers/serve-process.js';

test('--release-key: imported once by processes starting together, unchanged on restart, a new version when the policy file changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-release-key-'));
  const t = await createTlsCertificate(['127.0.0.1']);
  writeFileSync(join(dir, 'tls.key'), t.key, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.crt'), t.cert);
  writeFileSync(join(dir, 'secret'), 'imported secret');
  const policy = (svn: number) => JSON.stringify({ version: '1.0.0', anyOf: [{ authority: 'https://attest.confkube.test', allOf: [{ claim: 'x-ms-sgx-svn', greaterOrEquals: svn }] }] });
  writeFileSync(join(dir, 'policy.json'), policy(1));
  const store = `sqlite:${join(dir, 'store.db')}`;
  const serve = () => startServeProcess({ store, tlsKey: join(dir, 'tls.key'), tlsCert: join(dir, 'tls.crt'), baseUrl: 'https://attest.confkube.test', args: ['--release-key', `app=${join(dir, 'secret')}:${join(dir, 'policy.json')}`] });
  const versions = async () => {
    const s = await openStore(store);
    try {
      return await s.listReleaseKeyVersions('app');
    } finally {
      await s.close();
    }
  };
  try {
    const both = await Promise.all([serve(), serve()]);
    await Promise.all(both.map((p) => p.stop()));
    const first = await versions();
    assert.equal(first.length, 1, 'two processes importing at once made one version');
    assert.equal(Buffer.from(await testKeyProtector.open(first[0]!.sealedSecret, secretAad('app', first[0]!.version))).toString(), 'imported secret');
    await (await serve()).stop();
    assert.deepEqual(await versions(), first, 'a restart with the same files writes nothing');
    writeFileSync(join(dir, 'policy.json'), policy(2));
    await (await serve()).stop();
    const after = await versions();
    assert.equal(after.length, 2);
    assert.equal(after[1]!.version, first[0]!.version, 'the old version stays');
    assert.match(after[0]!.policy, /"greaterOrEquals":2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
