// openJwe (node:crypto only) against JWEs made by jose, the reference JOSE implementation the service wraps with:
// what jose encrypts to the enclave key opens; any altered byte, another key or another algorithm is refused
// with ERR_CLIENT_JWE_INVALID, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { CompactEncrypt } from 'jose';
import { openJwe, ClientError } from '../../src/client/index.js';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const wrap = (p: Uint8Array, header: Record<string, unknown> = {}, key = publicKey) =>
  new CompactEncrypt(p).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', ...header }).encrypt(key);
const refused = (f: () => unknown, re?: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof ClientError && e.code === 'ERR_CLIENT_JWE_INVALID' && (!re || re.test(e.message)));

test('what jose wraps to the enclave key opens, header included; any altered bit is refused', async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), fc.nat(), async (plain, partPick, charPick) => {
    const jwe = await wrap(plain, { 'x-confkube-key': 'k', nonce: 'n' });
    const opened = openJwe(jwe, privateKey);
    assert.deepEqual(opened.plaintext, plain);
    assert.equal(opened.header['x-confkube-key'], 'k');
    // Flip one bit of one decoded part (a changed base64url character may only touch padding bits).
    const parts = jwe.split('.');
    const nonEmpty = [0, 1, 2, 3, 4].filter((k) => parts[k].length > 0);
    const i = nonEmpty[partPick % nonEmpty.length];
    const bytes = Buffer.from(parts[i], 'base64url');
    bytes[charPick % bytes.length] ^= 1 << (charPick % 8);
    parts[i] = bytes.toString('base64url');
    refused(() => openJwe(parts.join('.'), privateKey));
  }), { numRuns: 60 });
});

test('another key, another algorithm, compression or a malformed value is refused', async () => {
  const toOther = await wrap(new Uint8Array(4), {}, other.publicKey);
  refused(() => openJwe(toOther, privateKey), /does not open with the enclave key/);
  const a128 = await new CompactEncrypt(new Uint8Array(4)).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A128GCM' }).encrypt(publicKey);
  refused(() => openJwe(a128, privateKey), /enc "A128GCM"; expected RSA-OAEP-256 and A256GCM/);
  const oaep1 = await new CompactEncrypt(new Uint8Array(4)).setProtectedHeader({ alg: 'RSA-OAEP', enc: 'A256GCM' }).encrypt(publicKey);
  refused(() => openJwe(oaep1, privateKey), /alg "RSA-OAEP"/);
  const parts = (await wrap(new Uint8Array(4))).split('.');
  parts[0] = Buffer.from(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'DEF' })).toString('base64url');
  refused(() => openJwe(parts.join('.'), privateKey), /"zip"/);
  for (const bad of ['', 'a.b.c.d', 'a.b.c.d.e.f', '!!.a.b.c.d', `${Buffer.from('[1]').toString('base64url')}.a.b.c.d`, 42 as unknown as string]) refused(() => openJwe(bad, privateKey));
});
