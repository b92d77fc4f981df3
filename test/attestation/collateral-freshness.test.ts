// The service under test runs in-process over HTTPS on 127.0.0.1; nothing stands in for a peer.
// A token issuer fails closed on collateral that is not valid at the verification time (docs/attestation.md §Collateral freshness).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { REAL_CASE, request, startService } from './helpers/harness.js';

const quote = readFileSync(REAL_CASE.quote).toString('base64url');
const attest = (svc: Awaited<ReturnType<typeof startService>>) =>
  request(svc, 'POST', '/attest/SgxEnclave?api-version=2022-08-01', JSON.stringify({ quote }), { 'content-type': 'application/json' });

test('the real quote attests inside its collateral window and is refused with expired collateral', async () => {
  const inside = await startService({ nowMs: REAL_CASE.nowMs });
  try {
    assert.equal((await attest(inside)).status, 200);
  } finally {
    await inside.stop();
  }
  // 2025-09-14T04:36:46Z is the earliest expiry of the automata_2025-08 collateral (its PCK CRL).
  const after = await startService({ nowMs: Date.parse('2025-09-20T00:00:00Z') });
  try {
    const r = await attest(after);
    assert.equal(r.status, 400, r.text);
    const body = JSON.parse(r.text);
    assert.match(body.error.message, /ERR_CRL_EXPIRED|ERR_COLLATERAL_EXPIRED/);
  } finally {
    await after.stop();
  }
});
