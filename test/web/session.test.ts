// Dashboard sessions at a fixed clock: idle and absolute expiry, the bound on live sessions, the Cookie header
// as browsers send it, and roles from the two token lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminAuth } from '../../src/attestation/admin-auth.js';
import { Sessions, cookieOf } from '../../src/web/session.js';

const ADMIN = 'a'.repeat(32);
const VIEWER = 'v'.repeat(32);

function fakeReply(): FastifyReply & { cookies: string[] } {
  const cookies: string[] = [];
  return { cookies, header(k: string, v: string) { if (k === 'set-cookie') cookies.push(v); return this; } } as unknown as FastifyReply & { cookies: string[] };
}
const req = (headers: Record<string, string> = {}, ip = '10.0.0.1'): FastifyRequest => ({ ip, headers } as unknown as FastifyRequest);

function setup(o: ConstructorParameters<typeof Sessions>[2] = {}): { s: Sessions; clock: { t: number }; login: (token: string) => string } {
  const clock = { t: 1_000_000 };
  const s = new Sessions(new AdminAuth([ADMIN], () => clock.t, {}, [VIEWER]), () => clock.t, o);
  return {
    s, clock,
    login(token) {
      const reply = fakeReply();
      s.login(token, req(), reply);
      return reply.cookies[0]!.split(';')[0]!;
    },
  };
}

test('a session ends after its idle time, and at its maximum age however busy', () => {
  const { s, clock, login } = setup({ idleMs: 1000, maxAgeMs: 5000 });
  const cookie = login(VIEWER);
  for (let i = 0; i < 4; i++) {
    clock.t += 999;
    assert.equal(s.caller(req({ cookie }))?.role, 'viewer', `use ${i}`);
  }
  clock.t += 1001;
  assert.equal(s.caller(req({ cookie })), null, 'idle');
  const again = login(ADMIN);
  for (let i = 0; i < 5; i++) {
    clock.t += 999;
    s.caller(req({ cookie: again }));
  }
  clock.t += 100;
  assert.equal(s.caller(req({ cookie: again })), null, 'older than maxAgeMs');
});

test('live sessions are bounded: the oldest goes first', () => {
  const { s, login } = setup({ maxSessions: 3 });
  const cookies = Array.from({ length: 5 }, () => login(VIEWER));
  assert.equal(s.size, 3);
  assert.deepEqual(cookies.map((c) => s.caller(req({ cookie: c })) !== null), [false, false, true, true, true]);
});

test('roles: admin and viewer tokens, a viewer cannot write, an unknown token is a 401, a short viewer token refused at start', () => {
  const { s, login } = setup();
  assert.equal(s.caller(req({ authorization: `Bearer ${ADMIN}` }))?.role, 'admin');
  assert.equal(s.caller(req({ authorization: `Bearer ${VIEWER}` }))?.role, 'viewer');
  assert.throws(() => s.caller(req({ authorization: `Bearer ${'x'.repeat(32)}` })), { status: 401 });
  assert.throws(() => s.requireAdminWrite(req({ authorization: `Bearer ${VIEWER}` })), { status: 403 });
  const cookie = login(ADMIN);
  assert.throws(() => s.requireAdminWrite(req({ cookie })), { status: 403, message: /x-confkube-csrf/ });
  assert.throws(() => new AdminAuth([ADMIN], Date.now, {}, ['short']), { code: 'ERR_ADMIN_TOKEN_TOO_SHORT', message: /viewer token/ });
  // A viewer token is not a management credential.
  assert.throws(() => new AdminAuth([ADMIN], Date.now, {}, [VIEWER]).check(req({ authorization: `Bearer ${VIEWER}` })), { status: 401, message: /viewer token cannot manage/ });
});

test('the Cookie header is read as browsers send it', () => {
  const r = (cookie: string): FastifyRequest => req({ cookie });
  assert.equal(cookieOf(r('a=1; __Host-confkube-ui=abc; b=2'), '__Host-confkube-ui'), 'abc');
  assert.equal(cookieOf(r('__Host-confkube-ui='), '__Host-confkube-ui'), null);
  assert.equal(cookieOf(r('x__Host-confkube-ui=abc'), '__Host-confkube-ui'), null);
  assert.equal(cookieOf(req(), '__Host-confkube-ui'), null);
});
