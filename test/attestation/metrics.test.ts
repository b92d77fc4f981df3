// The service under test runs in-process over HTTPS on 127.0.0.1; its /metrics exposition is checked by the format
// checker and, where installed (CI), promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExposition } from '../helpers/exposition.js';
import { readFileSync } from 'node:fs';
import { REAL_CASE, request, startService } from './helpers/harness.js';

test('/metrics passes the exposition checks and counts attestations by decision and TCB status, with the latency histogram', async () => {
  const svc = await startService();
  try {
    const body = JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url') });
    for (let i = 0; i < 3; i++) assert.equal((await request(svc, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', body, { 'content-type': 'application/json' })).status, 200);
    const deny = JSON.stringify({ quote: readFileSync(REAL_CASE.quote).toString('base64url'), draftPolicyForAttestation: 'version=1.0; authorizationrules{=> deny();};' });
    assert.equal((await request(svc, 'POST', '/attest/SgxEnclave?api-version=2020-10-01', deny, { 'content-type': 'application/json' })).status, 400);
    const m = await request(svc, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /text\/plain/);
    assert.match(m.text, /confkube_attestations_total\{type="SgxEnclave",decision="permit",tcb_status="SWHardeningNeeded",simulated="false"\} 3/);
    assert.match(m.text, /confkube_attestations_total\{type="SgxEnclave",decision="deny",tcb_status="SWHardeningNeeded",simulated="false"\} 1/);
    assert.match(m.text, /confkube_attestation_duration_seconds_count\{type="SgxEnclave"\} 4/);
    assert.match(m.text, /confkube_collateral_next_update_seconds\{key="qe"\}/);
    assert.deepEqual(checkExposition(m.text).problems, []);
  } finally {
    await svc.stop();
  }
});
