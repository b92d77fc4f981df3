// Records for the store tests, built from real collateral (test/fixtures/store/README.md).
import { readFileSync } from 'node:fs';
import type { AuditRecord, CollateralRecord, PolicyRecord, SigningKeyRecord } from '../../../src/store/index.js';

export function fixture(name: string): Buffer {
  return readFileSync(new URL(`../../fixtures/store/${name}`, import.meta.url));
}

export function realCollateral(fetchedAt: number): CollateralRecord[] {
  const chain = fixture('tcb_info_issuer_chain.pem').toString('utf8');
  return [
    { key: 'tcb:00606a000000', body: fixture('tcb_info_00606a000000.json'), issuerChain: chain, fetchedAt, nextUpdate: Date.parse('2025-09-14T00:00:00Z'), etag: '"tcb-1"' },
    { key: 'qe', body: fixture('qe_identity.json'), issuerChain: chain, fetchedAt, nextUpdate: Date.parse('2025-09-14T00:00:00Z'), etag: null },
    { key: 'pckcrl:platform', body: fixture('pck_platform_crl.der'), issuerChain: null, fetchedAt, nextUpdate: null },
    { key: 'rootcacrl', body: fixture('root_ca_crl.der'), issuerChain: null, fetchedAt, nextUpdate: Date.parse('2026-04-03T00:00:00Z'), etag: 'W/"x"' },
  ];
}

export function signingKey(kid: string, activeFrom: number): SigningKeyRecord {
  return {
    kid,
    sealedPrivateKey: `confkube-sealed:v1:aes-256-gcm:0011223344556677:${Buffer.alloc(12, kid).toString('base64url')}:${Buffer.alloc(1200, kid).toString('base64url')}:${Buffer.alloc(16, kid).toString('base64url')}`,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${Buffer.alloc(900, kid.toUpperCase()).toString('base64')}\n-----END CERTIFICATE-----\n`,
    createdAt: activeFrom - 1000, activeFrom, retiredAt: null,
  };
}

export function policy(attestationType: string, n: number, setAt = 1_700_000_000_000 + n): Omit<PolicyRecord, 'version'> {
  const text = `version=1.0; authorizationrules{c:[type=="x-ms-sgx-svn", value>=${n}] => permit();}; issuancerules{};`;
  return { attestationType, text, jws: `eyJhbGciOiJub25lIn0.${Buffer.from(text).toString('base64url')}.`, hash: `hash-${n}`, setAt, setBy: `admin-${n}` };
}

export function audit(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: 1_750_000_000_000 + i * 1000, clientAddress: `10.0.0.${i % 250}`, attestationType: i % 2 ? 'SgxEnclave' : 'OpenEnclave',
    mrEnclave: i.toString(16).padStart(64, '0'), mrSigner: 'ab'.repeat(32), tcbStatus: i % 3 ? 'UpToDate' : 'SWHardeningNeeded',
    decision: (['permit', 'deny', 'error'] as const)[i % 3]!, policyHash: `ph-${i}`, tokenId: `jti-${i}`, simulated: i % 2 === 0, reason: i % 3 === 2 ? `reason ${i}` : null,
    ...over,
  };
}
