// Runs the real @azure/attestation client against the service under test, in its own process so that
// NODE_EXTRA_CA_CERTS (the only way the SDK trusts a private CA, docs/attestation.md §Clients) applies. TLS checks stay on.
// Usage: azure-client.ts <base url> <json list of steps>; prints one JSON object with each step's result.
import { readFileSync } from 'node:fs';
import { AttestationClient, AttestationAdministrationClient, KnownAttestationType } from '@azure/attestation';
import type { TokenCredential } from '@azure/core-auth';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [url, stepsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson) as { op: string; quote?: string; runtime?: string; draft?: string; policy?: string; type?: string; token?: string; privateKey?: string; certificate?: string }[];
const credential: TokenCredential = { getToken: async () => ({ token: 'test-admin-token-0123456789abcdef', expiresOnTimestamp: Date.now() + 3600_000 }) };
const out: Record<string, unknown>[] = [];
for (const s of steps) {
  const client = new AttestationClient(url);
  const admin = new AttestationAdministrationClient(url, credential);
  try {
    if (s.op === 'attest') {
      const r = await client.attestSgxEnclave(readFileSync(s.quote!), {
        ...(s.runtime ? { runTimeData: Buffer.from(s.runtime, 'hex') } : {}),
        ...(s.draft ? { draftPolicyForAttestation: s.draft } : {}),
      });
      const b = r.body;
      out.push({ ok: true, token: r.token.serialize(), alg: r.token.algorithm, issuer: b.issuer, mrenclave: b.mrEnclave, mrsigner: b.mrSigner, svn: b.svn, productId: b.productId, debuggable: b.isDebuggable, version: b.version, verifierType: b.verifierType, uniqueId: b.uniqueId, policyClaims: b.policyClaims, ehd: b.enclaveHeldData ? Buffer.from(b.enclaveHeldData).toString('hex') : null });
    } else if (s.op === 'signers') {
      const r = await client.getAttestationSigners();
      out.push({ ok: true, signers: r.map((x) => ({ keyId: x.keyId, certs: x.certificates.length })) });
    } else if (s.op === 'openid') {
      out.push({ ok: true, metadata: await client.getOpenIdMetadata() });
    } else if (s.op === 'getPolicy') {
      out.push({ ok: true, policy: (await admin.getPolicy(KnownAttestationType.SgxEnclave)).body });
    } else if (s.op === 'jose') {
      // The token as any relying party verifies it: keys from the jku/JWKS, RS256, issuer = base URL.
      const jwks = createRemoteJWKSet(new URL(`${url}/certs`));
      const r = await jwtVerify(s.token!, jwks, { issuer: url, algorithms: ['RS256'] });
      out.push({ ok: true, kid: r.protectedHeader.kid, iss: r.payload.iss });
    } else if (s.op === 'setPolicy') {
      const r = await admin.setPolicy(KnownAttestationType.SgxEnclave, s.policy!, s.privateKey ? { privateKey: s.privateKey, certificate: s.certificate! } : {});
      out.push({ ok: true, resolution: r.body.policyResolution, tokenHash: Buffer.from(r.body.policyTokenHash).toString('base64url') });
    } else if (s.op === 'resetPolicy') {
      const r = await admin.resetPolicy(KnownAttestationType.SgxEnclave, s.privateKey ? { privateKey: s.privateKey, certificate: s.certificate! } : {});
      out.push({ ok: true, resolution: r.body.policyResolution });
    } else throw new Error(`unknown step ${s.op}`);
  } catch (e) {
    const err = e as { statusCode?: number; code?: string; message?: string };
    out.push({ ok: false, statusCode: err.statusCode ?? null, code: err.code ?? null, message: typeof e === 'string' ? e : err.message });
  }
}
process.stdout.write(JSON.stringify(out));
