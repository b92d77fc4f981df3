import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { reviewRequest } from '../../src/admission/index.js';
import { ordinaryCorpus } from './corpus.js';
import { reviewFor } from './helpers.js';

// A cluster view that fails the test if it is ever consulted: ordinary pods must not cause any API call.
const tripwire = {
  largestEpc: async () => {
    throw new Error('API consulted for an ordinary pod');
  },
  namespaceAnnotations: async () => {
    throw new Error('API consulted for an ordinary pod');
  },
  configMapBytes: async () => {
    throw new Error('API consulted for an ordinary pod');
  },
};

test('≥ 200 ordinary workloads: zero patches, zero rejections, zero errors, zero API calls', async () => {
  const corpus = ordinaryCorpus();
  assert.ok(corpus.length >= 200, `corpus has ${corpus.length}`);
  for (const { name, object } of corpus) {
    for (const mode of ['mutate', 'validate'] as const) {
      const review = reviewFor(object);
      const out = await reviewRequest(review, mode, { cluster: tripwire, trustedMrSigners: ['ab'.repeat(32)], sgxToleration: { key: 'sgx', operator: 'Exists' } });
      assert.equal(out.response.allowed, true, `${name} ${mode}: ${JSON.stringify(out.response.status)}`);
      assert.equal(out.response.patch, undefined, `${name} ${mode}`);
      assert.equal(out.response.warnings, undefined, `${name} ${mode}`);
      assert.equal(out.response.uid, (review.request as { uid: string }).uid);
    }
  }
});

const noSgxKey = fc.string({ maxLength: 12 }).filter((k) => !/sgx|epc|confkube/i.test(k));
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 8 }), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(noSgxKey, tie('value'), { maxKeys: 4 })),
})).value;

test('fast-check: any object without an SGX ask is allowed with no patch, in any kind', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Service', 'Weird'), fc.dictionary(noSgxKey, jsonValue, { maxKeys: 5 }), jsonValue, async (kind, meta, spec) => {
      const obj = { apiVersion: 'v1', kind, metadata: meta, spec };
      const out = await reviewRequest(reviewFor(obj), 'mutate', { cluster: tripwire });
      assert.equal(out.response.allowed, true);
      assert.equal(out.response.patch, undefined);
    }),
    { numRuns: 2000 },
  );
});
