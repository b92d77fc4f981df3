import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { measureSdkEnclave, measureSgxs, mrEnclaveOf, parseSgxs, sdkEnclaveStream } from '../../src/sgx/sgxs.js';
import { elfSections } from '../../src/sgx/elf.js';
import { findSigstructs } from '../../src/sgx/enclave-file.js';
import { parseSigstruct } from '../../src/sgx/sigstruct.js';
import { toHex } from '../../src/lib/bytes.js';
import { ConfkubeError } from '../../src/lib/errors.js';
import { fixtureBytes, fixtureText } from '../helpers/fixtures.js';

const expected = JSON.parse(fixtureText('sigstruct/expected.json')) as Record<string, Record<string, string | number>>;
const SGXS = 'sigstruct/fortanix-test_enclave.sgxs';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
    return e.code;
  }
}

interface Page {
  offset: number;
  flags: bigint;
  data: Uint8Array;
  measured: number[];
  unmeasured?: number[];
}

/**
 * An encoder written from the table in docs/sgx.md §MRENCLAVE and .sgxs, and rust-sgx doc/SGXS.md, independent of
 * src/sgx/sgxs.ts: the stream it writes is exactly what SHA-256 must see, so sha256(stream) = MRENCLAVE.
 */
function encode(ssaFrameSize: number, size: bigint, pages: Page[]): Uint8Array {
  const parts: Buffer[] = [];
  const block = (tag: string) => {
    const b = Buffer.alloc(64);
    b.write(tag, 0, 'latin1');
    parts.push(b);
    return b;
  };
  const c = block('ECREATE');
  c.writeUInt32LE(ssaFrameSize, 8);
  c.writeBigUInt64LE(size, 12);
  for (const p of pages) {
    const a = block('EADD');
    a.writeBigUInt64LE(BigInt(p.offset), 8);
    a.writeBigUInt64LE(p.flags, 16);
    for (const i of p.measured) {
      block('EEXTEND').writeBigUInt64LE(BigInt(p.offset + i * 256), 8);
      parts.push(Buffer.from(p.data.subarray(i * 256, i * 256 + 256)));
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}

test('the Fortanix .sgxs re-measures to the ENCLAVEHASH its signed .sig promises', () => {
  const stream = fixtureBytes(SGXS);
  const m = measureSgxs(stream);
  assert.equal(toHex(m.mrEnclave), expected['fortanix-test_enclave.sgxs'].sha256_of_file_equals_mrenclave);
  assert.equal(toHex(m.mrEnclave), toHex(parseSigstruct(fixtureBytes('sigstruct/fortanix-test_enclave.sig')).mrEnclave));
  assert.equal(toHex(m.mrEnclave), createHash('sha256').update(stream).digest('hex'));
  assert.equal(m.pages, 9);
  assert.equal(m.measuredChunks, 9 * 16);
  assert.equal(m.size, 0x40000n);
  assert.equal(m.ssaFrameSize, 1);
  assert.equal(m.canonical, true);
  assert.equal(stream.length, expected['fortanix-test_enclave.sgxs'].size);
});

test('the parsed page list of the vector is what its README says', () => {
  const s = parseSgxs(fixtureBytes(SGXS));
  const eadds = s.records.filter((r) => r.op === 'EADD');
  // README: 9 pages from 0x0 to 0x39000; 2× 0x201, 1× 0x205, 5× 0x203, 1× TCS 0x100.
  assert.deepEqual(eadds.map((r) => Number(r.offset)), [0x0, 0x1000, 0x2000, 0x4000, 0x15000, 0x16000, 0x27000, 0x28000, 0x39000]);
  const flags = eadds.map((r) => Number(r.secinfoFlags)).sort((a, b) => a - b);
  const count = (v: number) => flags.filter((f) => f === v).length;
  assert.deepEqual([count(0x201), count(0x205), count(0x203), count(0x100)], [2, 1, 5, 1]);
});

test('the MRENCLAVE is recomputed from the parsed fields, not hashed from the file', () => {
  const s = parseSgxs(fixtureBytes(SGXS));
  const ref = toHex(mrEnclaveOf(s));
  // Change one parsed field: the recomputed hash must change although the input bytes did not.
  const eadd = s.records.find((r) => r.op === 'EADD')!;
  if (eadd.op !== 'EADD') throw new Error('unreachable');
  eadd.secinfoFlags = 0x207n;
  assert.notEqual(toHex(mrEnclaveOf(s)), ref);
  eadd.secinfoFlags = 0x201n;
  assert.equal(toHex(mrEnclaveOf(s)), ref);
  assert.notEqual(toHex(mrEnclaveOf({ ...s, ssaFrameSize: 2 })), ref);
  assert.notEqual(toHex(mrEnclaveOf({ ...s, size: 0x80000n })), ref);
});

test('fast-check: generated enclaves measure to sha256 of an independently encoded stream, and parse back to their fields', () => {
  const page = fc.record({
    flags: fc.constantFrom(0x201n, 0x203n, 0x205n, 0x207n, 0x100n, 0x200n, 0x204n),
    data: fc.uint8Array({ minLength: 4096, maxLength: 4096 }),
    measured: fc.subarray([...Array(16).keys()]),
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 13, max: 36 }),
      fc.uniqueArray(fc.nat({ max: 63 }), { maxLength: 6 }),
      fc.array(page, { minLength: 6, maxLength: 6 }),
      (ssa, log2size, slots, pageData) => {
        const size = 1n << BigInt(log2size);
        const maxPages = Number(size / 4096n);
        const offsets = [...new Set(slots.map((s) => s % maxPages))].sort((a, b) => a - b);
        const pages: Page[] = offsets.map((o, i) => ({ offset: o * 4096, ...pageData[i] }));
        const stream = encode(ssa, size, pages);
        const m = measureSgxs(stream);
        assert.equal(toHex(m.mrEnclave), createHash('sha256').update(stream).digest('hex'));
        assert.equal(m.pages, pages.length);
        assert.equal(m.measuredChunks, pages.reduce((n, p) => n + p.measured.length, 0));
        assert.equal(m.canonical, true);
        const recs = parseSgxs(stream).records;
        let k = 0;
        for (const p of pages) {
          const a = recs[k++];
          assert.ok(a.op === 'EADD' && a.offset === BigInt(p.offset) && a.secinfoFlags === p.flags);
          for (const i of p.measured) {
            const x = recs[k++];
            assert.ok(x.op === 'EEXTEND' && x.offset === BigInt(p.offset + i * 256));
            assert.deepEqual(x.data, p.data.subarray(i * 256, i * 256 + 256));
          }
        }
        assert.equal(k, recs.length);
      },
    ),
    { numRuns: 300 },
  );
});

test('ESGXS: UNMEASRD records are loaded but not measured; UNSIZED cannot be measured', () => {
  const base = fixtureBytes(SGXS);
  // Insert an UNMEASRD record for chunk 0x100 of the first page right after its EADD (offset 64).
  const un = Buffer.alloc(64 + 256, 0xaa);
  un.fill(0, 0, 64);
  un.write('UNMEASRD', 0, 'latin1');
  un.writeBigUInt64LE(0x100n, 8);
  const stream = new Uint8Array(Buffer.concat([base.subarray(0, 128), un, base.subarray(128)]));
  const m = measureSgxs(stream);
  assert.equal(toHex(m.mrEnclave), expected['fortanix-test_enclave.sgxs'].sha256_of_file_equals_mrenclave);
  assert.notEqual(toHex(m.mrEnclave), createHash('sha256').update(stream).digest('hex'));
  assert.equal(m.measuredChunks, 144);
  const unsized = Uint8Array.from(base);
  unsized.set(Buffer.from('UNSIZED\0', 'latin1'), 0);
  assert.equal(codeOf(() => measureSgxs(unsized)), 'ERR_SGXS_UNSIZED');
});

test('non-canonical but valid streams are measured and flagged', () => {
  const data = new Uint8Array(4096).fill(7);
  const a = encode(1, 0x10000n, [
    { offset: 0x2000, flags: 0x203n, data, measured: [0, 1] },
    { offset: 0x1000, flags: 0x203n, data, measured: [0] },
  ]);
  const m = measureSgxs(a);
  assert.equal(m.canonical, false);
  assert.equal(toHex(m.mrEnclave), createHash('sha256').update(a).digest('hex'));
  const twice = encode(1, 0x10000n, [{ offset: 0x1000, flags: 0x203n, data, measured: [3, 3] }]);
  assert.equal(measureSgxs(twice).canonical, false);
});

test('malformed streams: typed errors that say what and where', () => {
  const base = fixtureBytes(SGXS);
  const edit = (at: number, bytes: number[] | string, le64?: bigint) => {
    const b = Buffer.from(base);
    if (typeof bytes === 'string') b.write(bytes, at, 'latin1');
    else b.set(bytes, at);
    if (le64 !== undefined) b.writeBigUInt64LE(le64, at);
    return new Uint8Array(b);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /empty/],
    ['no ECREATE', base.subarray(64), /does not start with an ECREATE/],
    ['size not a power of two', edit(12, [], 0x30000n), /ECREATE size 0x30000 at offset 12 is not a power of two/],
    ['size one page', edit(12, [], 0x1000n), /at least two pages/],
    ['SSA 0', edit(8, [0, 0, 0, 0]), /SSA frame size at offset 8 is 0/],
    ['ECREATE reserved', edit(40, [1]), /ECREATE at offset 0: reserved byte 40/],
    ['unknown tag', edit(64, 'EWHAT\0\0\0'), /unknown measurement block at offset 64/],
    ['second ECREATE', edit(64, 'ECREATE\0'), /second ECREATE at offset 64/],
    ['EADD off page', edit(72, [], 0x10n), /EADD at offset 64: page offset 0x10 is not a page inside/],
    ['EADD outside enclave', edit(72, [], 0x40000n), /not a page inside the 0x40000-byte enclave/],
    ['SECINFO reserved bits', edit(80, [], 0x10201n), /SECINFO.FLAGS 0x10201 has reserved bits/],
    ['SECINFO page type', edit(80, [], 0x301n), /page type 3 cannot be added/],
    ['TCS with R', edit(80, [], 0x101n), /TCS page must have R, W and X clear/],
    ['W without R', edit(80, [], 0x202n), /writable page must be readable/],
    ['SECINFO reserved bytes', edit(100, [9]), /EADD SECINFO at offset 64: reserved byte 36/],
    ['EEXTEND unaligned', edit(136, [], 0x80n), /EEXTEND at offset 128: chunk 0x80 is not 256-aligned/],
    ['EEXTEND before its EADD', edit(136, [], 0x39000n), /EEXTEND at offset 128: chunk 0x39000 .*added before it/],
    ['EEXTEND reserved', edit(150, [1]), /EEXTEND at offset 128: reserved byte 22/],
    ['truncated EEXTEND data', base.subarray(0, 128 + 64 + 100), /EEXTEND data.*truncated at offset 192: need 256 bytes, have 100/],
    ['truncated block', base.subarray(0, 100), /measurement block.*truncated at offset 64: need 64 bytes, have 36/],
  ];
  for (const [name, b, re] of cases) {
    assert.throws(() => measureSgxs(b), (e: unknown) => e instanceof ConfkubeError && re.test(e.message), name);
  }
  // A page added twice: duplicate the first EADD record.
  const dup = new Uint8Array(Buffer.concat([base.subarray(0, 128), base.subarray(64, 128), base.subarray(128)]));
  assert.throws(() => measureSgxs(dup), /EADD at offset 128: page 0x0 added twice/);
});

test('truncating the real .sgxs at every length: a typed error, or (at a record boundary) a shorter valid stream', () => {
  const b = fixtureBytes(SGXS);
  let ok = 0;
  for (let n = 0; n <= b.length; n++) {
    const code = codeOf(() => measureSgxs(b.subarray(0, n)));
    if (code === undefined) ok++;
    else assert.ok(code === 'ERR_SGXS_TRUNCATED' || code === 'ERR_SGXS_FORMAT', `at ${n}: ${code}`);
  }
  // ECREATE alone, after each EADD, and after each EEXTEND+data (the last one is the whole file): 1 + 9 + 144.
  assert.equal(ok, 1 + 9 + 144);
});

test('fast-check: measureSgxs on random bytes throws only typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
      codeOf(() => measureSgxs(b));
    }),
    { numRuns: 10_000 },
  );
});

test('fast-check: random records behind a valid ECREATE, and random edits of the real stream, throw only typed errors', () => {
  const base = fixtureBytes(SGXS);
  const tags = ['EADD\0\0\0\0', 'EEXTEND\0', 'UNMEASRD', 'ECREATE\0', 'UNSIZED\0', 'XXXXXXXX'];
  const record = fc.tuple(fc.constantFrom(...tags), fc.uint8Array({ minLength: 56, maxLength: 56 }), fc.boolean(), fc.nat({ max: 320 }));
  fc.assert(
    fc.property(fc.array(record, { maxLength: 8 }), (recs) => {
      const parts = [base.subarray(0, 64)];
      for (const [t, body, small, extra] of recs) {
        const blk = new Uint8Array(64);
        blk.set(Buffer.from(t, 'latin1'), 0);
        blk.set(body, 8);
        // Keep offsets small half the time so that EEXTEND can hit an added page.
        if (small) blk.set([0, 0, 0, 0, 0, 0], 10);
        parts.push(blk, new Uint8Array(extra));
      }
      codeOf(() => measureSgxs(new Uint8Array(Buffer.concat(parts))));
    }),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
      const b = Uint8Array.from(base);
      for (const [i, v] of edits) b[i] = v;
      codeOf(() => measureSgxs(b));
    }),
    { numRuns: 10_000 },
  );
  fc.assert(
    fc.property(fc.nat({ max: base.length }), fc.nat({ max: base.length }), (from, len) => {
      codeOf(() => measureSgxs(base.subarray(from, from + len)));
    }),
    { numRuns: 10_000 },
  );
});

const SO = 'sigstruct/intel-tdqe_tdx-1.5.signed.so';
const TDQE_META = 1194521; // README: metadata_t right after the 13-byte note name

test('the Intel TD QE .signed.so re-measured from its ELF segments and metadata layout gives its ENCLAVEHASH', () => {
  const so = fixtureBytes(SO);
  const f = findSigstructs(so)[0];
  assert.equal(f.offset - 64, TDQE_META);
  const mr = measureSdkEnclave(so, TDQE_META);
  assert.equal(toHex(mr), expected['intel-tdqe_tdx-1.5.signed.so'].mrenclave_enclavehash);
  assert.equal(toHex(mr), toHex(f.sigstruct.mrEnclave));
  const s = sdkEnclaveStream(so, TDQE_META);
  assert.equal(s.size, 0x200000n);
  assert.equal(s.ssaFrameSize, 1);
  const eadds = s.records.filter((r) => r.op === 'EADD');
  // The first page holds the ELF header (R segment); exactly one TCS comes from the layout table.
  assert.ok(eadds[0].op === 'EADD' && eadds[0].offset === 0n && eadds[0].secinfoFlags === 0x201n);
  assert.equal(eadds.filter((r) => r.op === 'EADD' && r.secinfoFlags === 0x100n).length, 1);
  assert.equal(new Set(eadds.map((r) => r.offset)).size, eadds.length, 'no page added twice');
});

test('SDK enclave measurement follows the loaded bytes: code changes it, section headers and patched bytes do not', () => {
  const so = fixtureBytes(SO);
  const want = expected['intel-tdqe_tdx-1.5.signed.so'].mrenclave_enclavehash;
  const text = Uint8Array.from(so);
  text[0x5000] ^= 0x01; // inside the R E segment (file 0x3000..0x10ff8b)
  assert.notEqual(toHex(measureSdkEnclave(text, TDQE_META)), want);
  const data = Uint8Array.from(so);
  data[0x11f900] ^= 0x01; // inside the RW segment
  assert.notEqual(toHex(measureSdkEnclave(data, TDQE_META)), want);
  // Section headers are not in any PT_LOAD segment.
  const shdr = Uint8Array.from(so);
  shdr[so.length - 10] ^= 0xff;
  assert.equal(toHex(measureSdkEnclave(shdr, TDQE_META)), want);
  // e_shnum (0x3c) is overwritten by the metadata patch table before measuring (sgx_sign zeroes it).
  const patched = Uint8Array.from(so);
  patched[0x3c] ^= 0xff;
  assert.equal(toHex(measureSdkEnclave(patched, TDQE_META)), want);
  assert.equal(elfSections(so).find((x) => x.name === '.note.sgxmeta')!.offset, 0x123a00);
});

test('SDK enclave measurement: broken metadata gives typed errors', () => {
  const so = fixtureBytes(SO);
  const at = (rel: number, v: number, bytes = 4) => {
    const b = Buffer.from(so);
    if (bytes === 8) b.writeBigUInt64LE(BigInt(v), TDQE_META + rel);
    else b.writeUInt32LE(v, TDQE_META + rel);
    return new Uint8Array(b);
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['enclave size', at(40, 0x300000, 8), /enclave_size 0x300000 is not a power of two/],
    ['small enclave', at(40, 0x100000, 8), /page 0x[0-9a-f]+ is not a page inside the 0x100000-byte enclave/],
    ['patch table outside', at(1872, 5000), /patch table \(offset 5000/],
    ['layout table outside', at(1880, 4000), /layout table \(offset 4000/],
    ['metadata size', at(16, 100), /size 100 does not fit/],
  ];
  for (const [name, b, re] of cases) {
    assert.throws(() => measureSdkEnclave(b, TDQE_META), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_SDK_LAYOUT' && re.test(e.message), name);
  }
  assert.throws(() => measureSdkEnclave(so.subarray(0, TDQE_META + 30), TDQE_META), (e: unknown) => e instanceof ConfkubeError);
  // The last layout entry is a thread group (README: GROUP 0x1009, 7 entries, 0 times): make it repeat 2^32 − 1 times.
  const layoutEnd = TDQE_META + new DataView(so.buffer, so.byteOffset).getUint32(TDQE_META + 1880, true) + new DataView(so.buffer, so.byteOffset).getUint32(TDQE_META + 1884, true);
  const spin = Buffer.from(so);
  assert.equal(spin.readUInt16LE(layoutEnd - 32), 0x1009);
  spin.writeUInt32LE(0xffffffff, layoutEnd - 32 + 4);
  spin.writeBigUInt64LE(0n, layoutEnd - 32 + 8);
  assert.throws(() => measureSdkEnclave(new Uint8Array(spin), TDQE_META), (e: unknown) => e instanceof ConfkubeError && e.code === 'ERR_SDK_LAYOUT');
});

test('a layout group of no entries repeated 2^32 times adds nothing and does not spin', { timeout: 60_000 }, () => {
  // Found by the property below: the layout table moved to metadata offset 145 reads a group entry with
  // entry_count 0 and load_times in the billions, which once looped without bound.
  const b = Uint8Array.from(fixtureBytes(SO));
  b[TDQE_META + 1880] = 145;
  assert.equal(measureSdkEnclave(b, TDQE_META).length, 32);
  const layoutAt = TDQE_META + new DataView(b.buffer).getUint32(TDQE_META + 1880, true);
  const group = new DataView(b.buffer, layoutAt);
  assert.ok(Array.from({ length: 10 }, (_, i) => i).some((i) => (group.getUint16(i * 32, true) & 0x1000) !== 0 && group.getUint16(i * 32 + 2, true) === 0 && group.getUint32(i * 32 + 4, true) > 1_000_000));
});

test('fast-check: edits to the SDK metadata, patch and layout tables give a typed error or a measurement, nothing else', () => {
  const so = fixtureBytes(SO);
  const meta = so.subarray(TDQE_META, TDQE_META + 4136);
  const dv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const tables: [number, number][] = [[0, 64], [1872, 1888], [dv.getUint32(1872, true), dv.getUint32(1872, true) + dv.getUint32(1876, true)], [dv.getUint32(1880, true), dv.getUint32(1880, true) + dv.getUint32(1884, true)]];
  const work = Uint8Array.from(so);
  fc.assert(
    fc.property(fc.nat({ max: tables.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (t, edits) => {
      const [lo, hi] = tables[t];
      const spots = edits.map(([i]) => TDQE_META + lo + (i % (hi - lo)));
      edits.forEach(([, v], k) => (work[spots[k]] = v));
      try {
        codeOf(() => measureSdkEnclave(work, TDQE_META));
      } finally {
        for (const p of spots) work[p] = so[p];
      }
    }),
    { numRuns: 2000 },
  );
});
