// One contract suite, run against both backends: SQLite in a temporary file and a real PostgreSQL server
// started from the Debian package binaries (test/helpers/postgres.ts). Collateral bodies are real Intel files.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openStore } from '../../src/store/index.js';
import { BACKENDS, suiteBackend } from './helpers/backends.js';
import { audit, policy, realCollateral, signingKey } from './helpers/records.js';

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

for (const kind of BACKENDS) {
  describe(`store contract (${kind})`, () => {
    const { backend: theBackend, fresh, closeAfter } = suiteBackend(kind);

    test('kind names the backend; migrate is idempotent and keeps data', async () => {
      const url = await theBackend().freshUrl();
      const s = await openStore(url);
      assert.equal(s.kind, kind);
      await s.setPolicy(policy('SgxEnclave', 1));
      await s.migrate();
      await s.migrate();
      await s.close();
      const again = await openStore(url);
      closeAfter(again);
      await again.migrate();
      assert.equal((await again.getPolicy('SgxEnclave'))?.hash, 'hash-1');
    });

    test('several instances migrating one empty database at once all succeed, schema applied once', async () => {
      const url = await theBackend().freshUrl();
      const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(url)));
      closeAfter(...stores);
      await Promise.all(stores.map((s) => s.migrate()));
      await stores[0]!.setPolicy(policy('SgxEnclave', 1));
      for (const s of stores) assert.equal((await s.getPolicy('SgxEnclave'))?.version, 1);
      assert.equal(await stores[5]!.policyVersion(), 1, 'the counter row was created exactly once');
    });

    test('signing keys: add, list in activation order with every field, retire; duplicate and unknown kids are conflicts', async () => {
      const s = await fresh();
      assert.deepEqual(await s.listSigningKeys(), []);
      const b = signingKey('kid-b', 2_000_000);
      const a = signingKey('kid-a', 1_000_000);
      await s.addSigningKey(b);
      await s.addSigningKey(a);
      assert.deepEqual(await s.listSigningKeys(), [a, b]);
      await s.retireSigningKey('kid-a', 3_000_000);
      assert.deepEqual(await s.listSigningKeys(), [{ ...a, retiredAt: 3_000_000 }, b]);
      await rejectsWith(s.addSigningKey(b), 'ERR_STORE_CONFLICT', /kid-b already exists/);
      await rejectsWith(s.retireSigningKey('kid-none', 1), 'ERR_STORE_CONFLICT', /kid-none does not exist/);
      assert.equal((await s.listSigningKeys()).length, 2);
    });

    test('addFirstSigningKey: instances racing on one empty database add exactly one key, every round', async () => {
      for (let round = 0; round < 5; round++) {
        const url = await theBackend().freshUrl();
        const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(url)));
        closeAfter(...stores);
        const added = await Promise.all(stores.map((s, i) => s.addFirstSigningKey(signingKey(`kid-${round}-${i}`, 1_000 + i))));
        assert.equal(added.filter(Boolean).length, 1, `round ${round}: ${added}`);
        const keys = await stores[0]!.listSigningKeys();
        assert.equal(keys.length, 1);
        assert.equal(keys[0]!.kid, `kid-${round}-${added.indexOf(true)}`);
        // A retired key does not count: the next first key is added.
        await stores[1]!.retireSigningKey(keys[0]!.kid, 5_000);
        assert.equal(await stores[2]!.addFirstSigningKey(signingKey(`kid-${round}-next`, 6_000)), true);
        assert.equal(await stores[3]!.addFirstSigningKey(signingKey(`kid-${round}-late`, 7_000)), false);
      }
    });

    test('private keys: a plaintext key is refused; a legacy row is re-sealed only if it still holds what was read', async () => {
      const s = await fresh();
      const k = signingKey('kid-p', 1_000);
      const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.alloc(64, 1).toString('base64')}\n-----END PRIVATE KEY-----\n`;
      await rejectsWith(s.addSigningKey({ ...k, sealedPrivateKey: pem }), 'ERR_STORE_ARGUMENT', /not sealed/);
      await rejectsWith(s.addFirstSigningKey({ ...k, sealedPrivateKey: pem }), 'ERR_STORE_ARGUMENT', /not sealed/);
      await s.addSigningKey(k);
      const other = signingKey('kid-q', 1_000).sealedPrivateKey;
      await rejectsWith(s.resealSigningKey('kid-p', k.sealedPrivateKey, pem), 'ERR_STORE_ARGUMENT', /not sealed/);
      assert.equal(await s.resealSigningKey('kid-p', 'something else', other), false);
      assert.equal(await s.resealSigningKey('kid-p', k.sealedPrivateKey, other), true);
      assert.equal((await s.listSigningKeys())[0]!.sealedPrivateKey, other);
    });

    test('settings round-trip and replace; hasSimulatedAudit sees a simulated record', async () => {
      const s = await fresh();
      assert.equal(await s.getSetting('simulation'), null);
      await s.putSetting('simulation', 'never');
      await s.putSetting('simulation', 'used');
      assert.equal(await s.getSetting('simulation'), 'used');
      assert.equal(await s.hasSimulatedAudit(), false);
      await s.appendAudit(audit(1, { simulated: false }));
      assert.equal(await s.hasSimulatedAudit(), false);
      await s.appendAudit(audit(2, { simulated: true }));
      assert.equal(await s.hasSimulatedAudit(), true);
    });

    test('policies: versions per type, newest wins, history newest first with a limit', async () => {
      const s = await fresh();
      assert.equal(await s.getPolicy('SgxEnclave'), null);
      assert.deepEqual(await s.policyHistory('SgxEnclave'), []);
      const r1 = await s.setPolicy(policy('SgxEnclave', 1));
      const r2 = await s.setPolicy(policy('SgxEnclave', 2));
      const o1 = await s.setPolicy(policy('OpenEnclave', 3));
      assert.deepEqual([r1.version, r2.version, o1.version], [1, 2, 1]);
      assert.deepEqual(r2, { ...policy('SgxEnclave', 2), version: 2 });
      assert.deepEqual(await s.getPolicy('SgxEnclave'), r2);
      assert.deepEqual(await s.getPolicy('OpenEnclave'), o1);
      assert.deepEqual(await s.policyHistory('SgxEnclave'), [r2, r1]);
      assert.deepEqual(await s.policyHistory('SgxEnclave', 1), [r2]);
    });

    test('reset: the type has no policy again, history keeps the reset and what came before', async () => {
      const s = await fresh();
      const r1 = await s.setPolicy(policy('SgxEnclave', 1));
      await s.resetPolicy('SgxEnclave', 'admin-reset');
      assert.equal(await s.getPolicy('SgxEnclave'), null);
      const h = await s.policyHistory('SgxEnclave');
      assert.equal(h.length, 2);
      assert.deepEqual(h[1], r1);
      assert.equal(h[0]!.version, 2);
      assert.equal(h[0]!.text, '');
      assert.equal(h[0]!.setBy, 'admin-reset');
      const r3 = await s.setPolicy(policy('SgxEnclave', 3));
      assert.equal(r3.version, 3);
      assert.deepEqual(await s.getPolicy('SgxEnclave'), r3);
    });

    test('policyVersion rises on every policy and certificate write, and on nothing else', async () => {
      const s = await fresh();
      const seen = [await s.policyVersion()];
      const step = async (write: () => Promise<unknown>, changes: boolean): Promise<void> => {
        await write();
        const v = await s.policyVersion();
        if (changes) assert.ok(v > seen[seen.length - 1]!, `version did not rise: ${seen.join(',')} then ${v}`);
        else assert.equal(v, seen[seen.length - 1]!);
        seen.push(v);
      };
      await step(() => s.setPolicy(policy('SgxEnclave', 1)), true);
      await step(() => s.resetPolicy('SgxEnclave', 'x'), true);
      await step(() => s.addPolicyCertificate({ thumbprint: 'AA', certificatePem: 'pem-a', addedAt: 1 }), true);
      await step(() => s.removePolicyCertificate('AA'), true);
      await step(() => s.removePolicyCertificate('AA'), false); // nothing removed, nothing written
      await step(() => s.addSigningKey(signingKey('k', 1)), false);
      await step(() => s.putCollateral(realCollateral(1)[0]!), false);
      await step(() => s.appendAudit(audit(1)), false);
      await step(() => s.setPolicy(policy('OpenEnclave', 2)), true);
    });

    test('policy certificates: add, list, add again is idempotent, remove says whether it removed', async () => {
      const s = await fresh();
      const a = { thumbprint: 'A1B2', certificatePem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', addedAt: 10 };
      const b = { thumbprint: 'C3D4', certificatePem: '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n', addedAt: 20 };
      await s.addPolicyCertificate(b);
      await s.addPolicyCertificate(a);
      await s.addPolicyCertificate({ ...a, addedAt: 30, certificatePem: 'other' });
      assert.deepEqual(await s.listPolicyCertificates(), [a, b]);
      assert.equal(await s.removePolicyCertificate('A1B2'), true);
      assert.equal(await s.removePolicyCertificate('A1B2'), false);
      assert.deepEqual(await s.listPolicyCertificates(), [b]);
    });

    test('collateral: real Intel bodies come back byte for byte with their issuer chains; put replaces', async () => {
      const s = await fresh();
      const recs = realCollateral(1_755_236_700_000);
      for (const r of recs) await s.putCollateral(r);
      for (const r of recs) {
        const got = await s.getCollateral(r.key);
        assert.ok(got);
        assert.ok(got.body instanceof Uint8Array);
        assert.equal(Buffer.compare(Buffer.from(got.body), Buffer.from(r.body)), 0, `${r.key} body differs`);
        assert.deepEqual({ ...got, body: null }, { ...r, etag: r.etag ?? null, body: null });
      }
      assert.deepEqual((await s.listCollateral()).map((r) => r.key), ['pckcrl:platform', 'qe', 'rootcacrl', 'tcb:00606a000000']);
      const replaced = { ...recs[1]!, body: new Uint8Array([0, 1, 2, 255]), fetchedAt: 99, nextUpdate: null, etag: '"2"' };
      await s.putCollateral(replaced);
      const got = await s.getCollateral('qe');
      assert.deepEqual([...got!.body], [0, 1, 2, 255]);
      assert.equal(got!.etag, '"2"');
      assert.equal(got!.nextUpdate, null);
      assert.equal(await s.getCollateral('tcb:ffffffffffff'), null);
    });

    test('collateral: a view into a larger buffer stores exactly the viewed bytes', async () => {
      const s = await fresh();
      const big = new Uint8Array(256).map((_, i) => i);
      await s.putCollateral({ key: 'view', body: big.subarray(10, 20), issuerChain: null, fetchedAt: 1, nextUpdate: null });
      assert.deepEqual([...(await s.getCollateral('view'))!.body], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    });

    test('audit: ids rise, every field round-trips, queries by time, token id and limit, newest first', async () => {
      const s = await fresh();
      const ids: number[] = [];
      for (let i = 0; i < 30; i++) ids.push(await s.appendAudit(audit(i)));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!);
      const all = await s.queryAudit({});
      assert.equal(all.length, 30);
      assert.deepEqual(all.map((r) => r.id), [...ids].reverse());
      assert.deepEqual(all[29], { ...audit(0), id: ids[0] });
      assert.deepEqual(all[27], { ...audit(2), id: ids[2] }); // with a reason
      assert.deepEqual((await s.queryAudit({ tokenId: 'jti-7' })).map((r) => r.id), [ids[7]]);
      assert.deepEqual((await s.queryAudit({ since: audit(25).time })).map((r) => r.tokenId), ['jti-29', 'jti-28', 'jti-27', 'jti-26', 'jti-25']);
      assert.deepEqual((await s.queryAudit({ limit: 3 })).map((r) => r.tokenId), ['jti-29', 'jti-28', 'jti-27']);
      assert.deepEqual(await s.queryAudit({ tokenId: 'none' }), []);
      const noReason = audit(100);
      delete noReason.reason;
      const id = await s.appendAudit({ ...noReason, mrEnclave: null, mrSigner: null, tcbStatus: null, policyHash: null, tokenId: null });
      assert.deepEqual((await s.queryAudit({ limit: 1 }))[0], { ...noReason, id, reason: null, mrEnclave: null, mrSigner: null, tcbStatus: null, policyHash: null, tokenId: null });
    });

    test('concurrent policy writes from two instances get versions 1..n without gaps or duplicates', async () => {
      const url = await theBackend().freshUrl();
      const a = await openStore(url);
      const b = await openStore(url);
      closeAfter(a, b);
      const start = await a.policyVersion();
      const recs = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setPolicy(policy('SgxEnclave', i))));
      assert.deepEqual(recs.map((r) => r.version).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(await b.policyVersion(), start + 20);
      assert.equal((await b.policyHistory('SgxEnclave', 1000)).length, 20);
    });

    test('concurrent audit appends from two instances all land with distinct ids', async () => {
      const url = await theBackend().freshUrl();
      const a = await openStore(url);
      const b = await openStore(url);
      closeAfter(a, b);
      const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).appendAudit(audit(i))));
      assert.equal(new Set(ids).size, 40);
      const got = await a.queryAudit({ limit: 100 });
      assert.deepEqual(new Set(got.map((r) => r.tokenId)), new Set(Array.from({ length: 40 }, (_, i) => `jti-${i}`)));
    });

    test('bad arguments are typed errors and write nothing', async () => {
      const s = await fresh();
      await rejectsWith(s.appendAudit({ ...audit(1), decision: 'maybe' as 'permit' }), 'ERR_STORE_ARGUMENT', /decision/);
      await rejectsWith(s.appendAudit({ ...audit(1), time: 1.5 }), 'ERR_STORE_ARGUMENT', /audit time/);
      await rejectsWith(s.queryAudit({ limit: 0 }), 'ERR_STORE_ARGUMENT', /limit/);
      await rejectsWith(s.queryAudit({ limit: -1 }), 'ERR_STORE_ARGUMENT', /limit/);
      await rejectsWith(s.policyHistory('SgxEnclave', 2.5), 'ERR_STORE_ARGUMENT', /limit/);
      await rejectsWith(s.putCollateral({ key: 'x', body: 'text' as unknown as Uint8Array, issuerChain: null, fetchedAt: 1, nextUpdate: null }), 'ERR_STORE_ARGUMENT', /Uint8Array/);
      await rejectsWith(s.addSigningKey({ ...signingKey('k', 1), activeFrom: Number.NaN }), 'ERR_STORE_ARGUMENT', /activeFrom/);
      await rejectsWith(s.setPolicy({ ...policy('SgxEnclave', 1), text: undefined as unknown as string }), 'ERR_STORE_ARGUMENT', /text/);
      assert.deepEqual(await s.queryAudit({}), []);
      assert.deepEqual(await s.listSigningKeys(), []);
      assert.equal(await s.getPolicy('SgxEnclave'), null);
      assert.equal(await s.policyVersion(), 0);
    });

    test('appends still in flight when close() is called are written, and their promises resolve', async () => {
      const url = await theBackend().freshUrl();
      const s = await openStore(url);
      const inFlight = Array.from({ length: 8 }, (_, i) => s.appendAudit(audit(i)));
      await s.close();
      const ids = await Promise.all(inFlight);
      const again = await openStore(url);
      closeAfter(again);
      const byId = (a: [number, string], b: [number, string]): number => a[0] - b[0];
      assert.deepEqual((await again.queryAudit({})).map((r) => [r.id!, r.tokenId!] as [number, string]).sort(byId), ids.map((id, i) => [id, `jti-${i}`] as [number, string]).sort(byId));
    });

    test('a closed store refuses calls with ERR_STORE_UNAVAILABLE; closing twice is harmless', async () => {
      const s = await openStore(await theBackend().freshUrl());
      await s.close();
      await s.close();
      await rejectsWith(s.policyVersion(), 'ERR_STORE_UNAVAILABLE', /closed/);
      await rejectsWith(s.appendAudit(audit(1)), 'ERR_STORE_UNAVAILABLE', /closed/);
    });

    test('property: any text and any bytes round-trip exactly', async () => {
      const s = await fresh();
      let n = 0;
      await fc.assert(fc.asyncProperty(
        fc.string({ unit: 'grapheme', maxLength: 200 }).filter((t) => !t.includes('\u0000')),
        fc.uint8Array({ maxLength: 2048 }),
        async (text, bytes) => {
          const key = `k${++n}`;
          const rec = await s.setPolicy({ attestationType: key, text, jws: text, hash: key, setAt: n, setBy: text });
          assert.deepEqual(await s.getPolicy(key), rec);
          await s.putCollateral({ key, body: bytes, issuerChain: text, fetchedAt: n, nextUpdate: null, etag: text });
          const got = await s.getCollateral(key);
          assert.deepEqual([...got!.body], [...bytes]);
          assert.equal(got!.issuerChain, text);
        }), { numRuns: 60 });
    });

    test('text with U+0000 is refused the same way by both backends (PostgreSQL TEXT cannot hold it)', async () => {
      const s = await fresh();
      await rejectsWith(s.setPolicy({ ...policy('SgxEnclave', 1), text: 'a\u0000b' }), 'ERR_STORE_ARGUMENT', /NUL character at index 1/);
      await rejectsWith(s.appendAudit(audit(1, { clientAddress: '\u0000' })), 'ERR_STORE_ARGUMENT', /clientAddress contains a NUL/);
      await rejectsWith(s.getPolicy('Sgx\u0000'), 'ERR_STORE_ARGUMENT', /NUL/);
      await rejectsWith(s.getCollateral('\u0000'), 'ERR_STORE_ARGUMENT', /NUL/);
      assert.equal(await s.getPolicy('SgxEnclave'), null);
    });
  });
}
