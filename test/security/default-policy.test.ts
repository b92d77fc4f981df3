// Azure's default policy lets debug enclaves and OutOfDate platforms through: the service says so when it starts
// with it, and the strict template in samples/policies refuses both while accepting an UpToDate platform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from '../attestation/helpers/harness.js';
import { MemoryStore } from '../../support/memory-store.js';
import { createPlatform } from '../../src/sim/index.js';
import { checkPolicy } from '../../src/policy/index.js';
import { unsecuredPolicyJws } from '../../src/attestation/index.js';
import { startHardened } from './helpers.js';

const STRICT = readFileSync(fileURLToPath(new URL('../../samples/policies/sgx-strict.policy', import.meta.url)), 'utf8');
const sha = (s: string) => createHash('sha256').update(s).digest();
const DEFAULT_LINE = /policy in force is Azure's default: it permits debug enclaves and every TCB status, OutOfDate included/;

test('starting with the default policy says so in one line; with a policy set, nothing is said', async () => {
  const store = new MemoryStore();
  const warnings: string[] = [];
  const r = await startHardened({ store, warn: (m) => warnings.push(m) });
  try {
    assert.equal(warnings.filter((w) => DEFAULT_LINE.test(w)).length, 1, warnings.join('\n'));
    for (const t of ['SgxEnclave', 'OpenEnclave']) {
      const put = await request(r, 'PUT', `/policies/${t}?api-version=2022-08-01`, unsecuredPolicyJws(STRICT), { 'content-type': 'text/plain', authorization: 'Bearer test-admin-token-0123456789abcdef' });
      assert.equal(put.status, 200, put.text);
    }
  } finally {
    await r.stop();
  }
  const again: string[] = [];
  const r2 = await startHardened({ store, warn: (m) => again.push(m) });
  await r2.stop();
  assert.deepEqual(again.filter((w) => DEFAULT_LINE.test(w)), []);
});

test('the strict template: UpToDate accepted; debug enclave and OutOfDate platform refused (the default permits both)', async () => {
  assert.equal(checkPolicy(STRICT).ok, true);
  const cases: [string, { status?: 'UpToDate' | 'OutOfDate' }, boolean, number][] = [
    ['UpToDate release enclave', {}, false, 200],
    ['UpToDate debug enclave', {}, true, 400],
    ['OutOfDate platform', { status: 'OutOfDate' }, false, 400],
  ];
  for (const [name, opts, debug, strictStatus] of cases) {
    const platform = createPlatform({ seed: `strict-${name}`, ...opts });
    const quote = Buffer.from(platform.quote({ mrEnclave: sha('e'), mrSigner: sha('s'), debug })).toString('base64url');
    const r = await startHardened({ collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } }, verifyAt: Date.now });
    try {
      const post = (body: object) => request(r, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify(body), { 'content-type': 'application/json' });
      const byDefault = await post({ quote });
      assert.equal(byDefault.status, 200, `${name} under the default policy: ${byDefault.text}`);
      const strict = await post({ quote, draftPolicyForAttestation: STRICT });
      assert.equal(strict.status, strictStatus, `${name} under the strict policy: ${strict.text}`);
      if (strictStatus !== 200) assert.equal(strict.json().error.code, 'PolicyDenied');
      else assert.equal(JSON.parse(Buffer.from(strict.json().token.split('.')[1], 'base64url').toString())['x-ms-sgx-tcb-status'], 'UpToDate');
    } finally {
      await r.stop();
    }
  }
});
