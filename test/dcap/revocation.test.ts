import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyQuote, type CollateralInput } from '../../src/dcap/index.js';
import { createPlatform, SIM_NAMES } from '../../src/sim/index.js';
import { buildCrl } from '../../src/sim/crl.js';
import { keyFromPrivate } from '../../src/sim/keys.js';
import { parseCert } from '../../src/dcap/x509.js';

// Revocation paths need a PKI whose keys we hold (no real revoked PCK exists in the vectors): the simulated
// platform's, with CRLs re-issued by its own CA keys.
const platform = createPlatform({ seed: 'revocation', issuedAt: new Date('2026-01-01T00:00:00Z') });
const at = platform.expected.verificationTime.getTime() / 1000;
const quote = platform.quote({ mrEnclave: new Uint8Array(32).fill(1), mrSigner: new Uint8Array(32).fill(2) });
const anchors = [platform.rootCertDer];
const serialBytes = (der: Uint8Array) => {
  const hex = parseCert(der, 'certificate').serial;
  return Uint8Array.from(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
};
const key = (role: string) => keyFromPrivate(Uint8Array.from(Buffer.from(platform.keys[role], 'hex')));
const issue = new Date(at * 1000 - 3_600_000);
const next = new Date(at * 1000 + 86_400_000);

function withRootCrl(revoked: Uint8Array[]): CollateralInput {
  const input = platform.collateralInput();
  return { ...input, rootCaCrl: buildCrl({ issuer: SIM_NAMES.root, issuerKey: key('root'), thisUpdate: issue, nextUpdate: next, crlNumber: 2, revoked }) };
}

test('the simulated platform verifies as UpToDate against its own root (baseline)', () => {
  const v = verifyQuote(quote, platform.collateralInput(), { now: at, trustAnchors: anchors });
  assert.deepEqual(v.errors, []);
  assert.equal(v.status, 'UpToDate');
});

test('a PCK CA on the root CA CRL: Revoked, ERR_CA_REVOKED', () => {
  const v = verifyQuote(quote, withRootCrl([serialBytes(platform.certificates.processorCa)]), { now: at, trustAnchors: anchors });
  assert.equal(v.ok, false);
  assert.deepEqual(v.errors.map((e) => e.code), ['ERR_CA_REVOKED']);
  assert.equal(v.status, 'Revoked');
});

test('the TCB Signing certificate on the root CA CRL: ERR_TCB_SIGNING_REVOKED', () => {
  const v = verifyQuote(quote, withRootCrl([serialBytes(platform.certificates.tcbSigning)]), { now: at, trustAnchors: anchors });
  assert.equal(v.ok, false);
  assert.ok(v.errors.some((e) => e.code === 'ERR_TCB_SIGNING_REVOKED'), JSON.stringify(v.errors));
});

test('a PCK serial on its CA CRL: Revoked, ERR_PCK_REVOKED; the same serial on the other CA CRL does not count', () => {
  const input = platform.collateralInput();
  const pckSerial = serialBytes(platform.certificates.pck);
  const crl = (issuer: 'processorCa' | 'platformCa') =>
    buildCrl({ issuer: SIM_NAMES[issuer], issuerKey: key(issuer), thisUpdate: issue, nextUpdate: next, crlNumber: 2, revoked: [pckSerial] });
  const v = verifyQuote(quote, { ...input, pckCrls: [crl('processorCa')] }, { now: at, trustAnchors: anchors });
  assert.deepEqual(v.errors.map((e) => e.code), ['ERR_PCK_REVOKED']);
  assert.equal(v.status, 'Revoked');
  const other = verifyQuote(quote, { ...input, pckCrls: [...input.pckCrls.filter((_, i) => i === 0), crl('platformCa')] }, { now: at, trustAnchors: anchors });
  assert.ok(!other.errors.some((e) => e.code === 'ERR_PCK_REVOKED'), JSON.stringify(other.errors));
});

test('a CRL signed by the wrong key (right issuer name): ERR_CRL_INVALID', () => {
  const input = platform.collateralInput();
  const forged = buildCrl({ issuer: SIM_NAMES.processorCa, issuerKey: key('platformCa'), thisUpdate: issue, nextUpdate: next, crlNumber: 3, revoked: [] });
  const v = verifyQuote(quote, { ...input, pckCrls: [forged] }, { now: at, trustAnchors: anchors });
  assert.deepEqual(v.errors.map((e) => e.code), ['ERR_CRL_INVALID']);
  const forgedRoot = buildCrl({ issuer: SIM_NAMES.root, issuerKey: key('processorCa'), thisUpdate: issue, nextUpdate: next, crlNumber: 3, revoked: [] });
  const r = verifyQuote(quote, { ...input, rootCaCrl: forgedRoot }, { now: at, trustAnchors: anchors });
  assert.ok(r.errors.some((e) => e.code === 'ERR_CRL_INVALID'));
});
