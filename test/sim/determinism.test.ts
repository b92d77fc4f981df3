// Same seed and reference time → the same keys and the same bytes; a platform directory reloads to the
// same platform; what is derived from the seed differs between seeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform, loadPlatform, writePlatform, type SimPlatform } from '../../src/sim/index.js';
import { toHex } from '../../src/lib/bytes.js';
import { verifyQuote } from '../../src/dcap/index.js';
import { ISSUED_AT, MRENCLAVE, MRSIGNER } from './helpers.js';

function fingerprint(p: SimPlatform): string[] {
  const q3 = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, reportData: new Uint8Array(64).fill(9) });
  const q4 = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER, version: 4, debug: true });
  return [
    ...Object.values(p.certificates).map(toHex),
    ...p.collateralFiles().map((f) => `${f.name}:${toHex(f.data)}`),
    JSON.stringify(p.keys),
    p.pckChainPem,
    toHex(q3),
    toHex(q4),
  ];
}

test('same seed and issuedAt → identical keys, certificates, CRLs, collateral and quotes', () => {
  for (const opts of [
    { seed: 'repro', issuedAt: ISSUED_AT },
    { seed: 'repro', issuedAt: ISSUED_AT, status: 'Revoked' as const, caType: 'platform' as const, tcbInfoVersion: 2 as const, qeOutOfDate: true },
  ]) {
    const a = fingerprint(createPlatform(opts));
    const b = fingerprint(createPlatform(opts));
    assert.deepEqual(a, b);
  }
});

test('different seeds give different keys; the reference time changes validity, never keys', () => {
  const a = createPlatform({ seed: 'one', issuedAt: ISSUED_AT });
  const b = createPlatform({ seed: 'two', issuedAt: ISSUED_AT });
  for (const role of Object.keys(a.keys)) assert.notEqual(a.keys[role], b.keys[role], role);
  assert.notEqual(toHex(a.rootCertDer), toHex(b.rootCertDer));
  const later = createPlatform({ seed: 'one', issuedAt: new Date(ISSUED_AT.getTime() + 86_400_000) });
  assert.deepEqual(later.keys, a.keys);
  assert.notEqual(toHex(later.collateral.tcbInfo), toHex(a.collateral.tcbInfo));
  // Keys are distinct per role within a platform.
  assert.equal(new Set(Object.values(a.keys)).size, Object.keys(a.keys).length);
});

test('defaults: a random seed, and the start of the current UTC day, valid now', () => {
  const before = Date.now();
  const a = createPlatform();
  const b = createPlatform();
  assert.notEqual(a.options.seed, b.options.seed);
  assert.equal(a.options.issuedAt.getTime() % 86_400_000, 0);
  const after = Date.now();
  const day = (t: number) => t - (t % 86_400_000);
  assert.ok([day(before), day(after)].includes(a.options.issuedAt.getTime()));
  const v = verifyQuote(a.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER }), a.collateralInput(), { now: new Date(), trustAnchors: [a.rootCertDer], strict: true });
  assert.equal(v.ok, true, JSON.stringify(v.errors));
  assert.equal(v.status, 'UpToDate');
});

test('writePlatform / loadPlatform: the directory reloads to the same keys and bytes, and refuses edited keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confkube-sim-'));
  try {
    const p = createPlatform({ seed: 'dir test', issuedAt: ISSUED_AT, status: 'ConfigurationNeeded', caType: 'platform' });
    writePlatform(p, dir);
    assert.equal(readFileSync(join(dir, 'root.pem'), 'utf8'), p.rootCertPem);
    for (const f of p.collateralFiles()) assert.equal(toHex(readFileSync(join(dir, 'collateral', f.name))), toHex(f.data), f.name);
    const names = p.collateralFiles().map((f) => f.name).sort();
    assert.deepEqual(names, ['pck_platform_crl.der', 'pck_processor_crl.der', 'qe_identity.json', 'root_ca_crl.der', 'tcb_info.json', 'tcb_signing.pem']);
    const l = loadPlatform(dir);
    assert.deepEqual(l.keys, p.keys);
    assert.deepEqual(l.options, p.options);
    assert.deepEqual(fingerprint(l), fingerprint(p));
    const file = JSON.parse(readFileSync(join(dir, 'platform.json'), 'utf8'));
    file.keys.pck = '11'.repeat(32);
    writeFileSync(join(dir, 'platform.json'), JSON.stringify(file));
    assert.throws(() => loadPlatform(dir), (e: Error & { code?: string }) => e.code === 'ERR_SIM_PLATFORM' && /pck key/.test(e.message));
    writeFileSync(join(dir, 'platform.json'), '{');
    assert.throws(() => loadPlatform(dir), (e: Error & { code?: string }) => e.code === 'ERR_SIM_PLATFORM');
    assert.throws(() => loadPlatform(join(dir, 'nothing-here')), (e: Error & { code?: string }) => e.code === 'ERR_SIM_PLATFORM' && /sim init/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('reissue: new collateral windows, the same keys, certificates and root, so old quotes and trust anchors keep working', () => {
  const p = createPlatform({ seed: 'long-lived', issuedAt: ISSUED_AT, status: 'SWHardeningNeeded' });
  const q = p.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER });
  const later = new Date(ISSUED_AT.getTime() + 100 * 86_400_000);
  const stale = verifyQuote(q, p.collateralInput(), { now: later, trustAnchors: [p.rootCertDer] });
  assert.equal(stale.collateralExpired, true, 'after 30 days the first collateral has expired');
  const r = p.reissue(later);
  assert.deepEqual(Object.values(r.certificates).map(toHex), Object.values(p.certificates).map(toHex));
  assert.deepEqual(r.keys, p.keys);
  assert.notEqual(toHex(r.collateral.tcbInfo), toHex(p.collateral.tcbInfo));
  assert.equal(r.expected.verificationTime.getTime(), later.getTime() + 3_600_000);
  const fresh = verifyQuote(q, r.collateralInput(), { now: r.expected.verificationTime, trustAnchors: [p.rootCertDer], strict: true });
  assert.equal(fresh.ok, true, JSON.stringify(fresh.errors));
  assert.equal(fresh.status, 'SWHardeningNeeded');
  assert.equal(toHex(r.quote({ mrEnclave: MRENCLAVE, mrSigner: MRSIGNER })), toHex(q), 'quotes do not depend on collateral time');
  // A reissued platform round-trips through its directory.
  const dir = mkdtempSync(join(tmpdir(), 'confkube-sim-'));
  try {
    writePlatform(r, dir);
    assert.deepEqual(fingerprint(loadPlatform(dir)), fingerprint(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
