import { readFileSync, readdirSync } from 'node:fs';
import type { Claim, PolicyDecision } from '../../src/policy/index.js';

const FIXTURES = new URL('../fixtures/policy/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export function fixtureNames(ext = '.txt'): string[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith(ext)).sort();
}

export function jwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.trim().split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Issued claims as the token carries them: type → value (docs/policy.md §Issued claims). */
export function issuedMap(d: PolicyDecision): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of d.issuedClaims) out[c.type] = c.value;
  return out;
}

export function propsMap(d: PolicyDecision): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of d.issuedProperties) out[c.type] = c.value;
  return out;
}

/**
 * The incoming SGX claims of real token (a) (docs/policy.md §Test corpus): the service-generated `x-ms-*` claims of the recorded token.
 */
export function tokenAIncoming(): Record<string, unknown> {
  const p = jwtPayload(fixture('token-a-sharedwus-2021-05-26.jwt'));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k.startsWith('x-ms-') && k !== 'x-ms-policy-hash') out[k] = v;
  }
  return out;
}

export const TOKEN_A_LEGACY = {
  'is-debuggable': false,
  'sgx-mrsigner': '2c1a44952ae8207135c6c29b75b8c029372ee94b677e15c20bd42340f10d41aa',
  'sgx-mrenclave': 'b779202618becb636768e5d902f28d524222735fafb539ea9ba07c3fc171a1c2',
  'product-id': 1,
  svn: 1,
  tee: 'sgx',
};

export const svc = (type: string, value: unknown): Claim => ({ type, value, issuer: 'AttestationService' });
