// Small pieces of the node agent: quantities, backoff, label diffs, structured logs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, createLogger, labelDiff, parseQuantity, QuantityError, quantityToBytes, readSgxCpuid } from '../../src/node/index.js';

describe('quantities', () => {
  it('binary, decimal, exponent and plain forms', () => {
    assert.equal(parseQuantity('10Mi'), 10 * 1024 * 1024);
    assert.equal(parseQuantity('1Gi'), 2 ** 30);
    assert.equal(parseQuantity('256Gi'), 274877906944);
    assert.equal(parseQuantity('176160768'), 176160768);
    assert.equal(parseQuantity('1G'), 1e9);
    assert.equal(parseQuantity('100k'), 1e5);
    assert.equal(parseQuantity('1e6'), 1e6);
    assert.equal(parseQuantity('1.5Mi'), 1.5 * 1024 * 1024);
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(quantityToBytes('500m'), 1);
    assert.equal(parseQuantity(42), 42);
  });
  it('rejects what is not a quantity, with a typed error', () => {
    for (const bad of ['', 'Mi', '10 MiB', '10mi', '-1', 'ten', '1Ki2']) {
      assert.throws(() => parseQuantity(bad), (e: unknown) => e instanceof QuantityError && e.code === 'ERR_NODE_QUANTITY', bad);
    }
    assert.throws(() => parseQuantity(Number.NaN), QuantityError);
  });
});

describe('backoff', () => {
  it('grows exponentially to the cap and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.attempts, 6);
    b.reset();
    assert.equal(b.next(), 100);
  });
  it('jitter stays within its band', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2 });
    for (let i = 0; i < 200; i++) {
      const d = b.next();
      assert.ok(d >= 800 && d <= 1200, String(d));
    }
  });
});

describe('label diff', () => {
  it('sets what differs, removes what is null and present, leaves the rest', () => {
    assert.deepEqual(labelDiff({ a: '1', b: '2', c: '3' }, { a: '1', b: 'x', c: null, d: null, e: '5' }), { b: 'x', c: null, e: '5' });
    assert.deepEqual(labelDiff(undefined, { a: null, b: '1' }), { b: '1' });
    assert.deepEqual(labelDiff({ a: '1' }, { a: '1' }), {});
  });
});

describe('structured logs', () => {
  it('one JSON object per line with level, message, fields and error codes; below-level dropped', () => {
    const out: string[] = [];
    const log = createLogger({ level: 'info', write: (l) => out.push(l) }).child({ component: 'x' });
    log.debug('hidden');
    log.warn('cannot do it', { err: new QuantityError('bad'), n: 1 });
    assert.equal(out.length, 1);
    assert.ok(out[0].endsWith('\n'));
    const rec = JSON.parse(out[0]) as Record<string, unknown>;
    assert.equal(rec.level, 'warn');
    assert.equal(rec.msg, 'cannot do it');
    assert.equal(rec.component, 'x');
    assert.equal(rec.n, 1);
    assert.deepEqual(rec.err, { name: 'QuantityError', message: 'bad', code: 'ERR_NODE_QUANTITY' });
    assert.match(String(rec.ts), /^\d{4}-\d\d-\d\dT/);
  });
});

describe('cpuid device', () => {
  it('absent device: unknown, not an error', () => {
    assert.equal(readSgxCpuid('/nonexistent/dev/cpu/0/cpuid'), null);
  });
});
