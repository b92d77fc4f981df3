import { toPem } from '../../src/lib/pem.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { convergeTcbStatus, parseTcbInfo, matchTcbLevel, parseSignedJson, TCB_STATUSES, verifyQuote, type TcbStatus } from '../../src/dcap/index.js';
import { loadCollateralPath } from '../../src/cli/collateral-path.js';
import { fixtureBytes, fixturePath, fixtureText } from '../helpers/fixtures.js';

test('QE status convergence follows Intel, not worst-severity', () => {
  const table: [TcbStatus, 'UpToDate' | 'OutOfDate' | 'Revoked', TcbStatus][] = [
    ['UpToDate', 'UpToDate', 'UpToDate'],
    ['SWHardeningNeeded', 'UpToDate', 'SWHardeningNeeded'],
    ['ConfigurationNeeded', 'UpToDate', 'ConfigurationNeeded'],
    ['UpToDate', 'OutOfDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'OutOfDate', 'OutOfDate'],
    ['ConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', 'OutOfDate', 'OutOfDate'],
    ['OutOfDateConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['UpToDate', 'Revoked', 'Revoked'],
    ['Revoked', 'UpToDate', 'Revoked'],
  ];
  for (const [p, q, want] of table) assert.equal(convergeTcbStatus(p, q), want, `${p} + QE ${q}`);
});

const v3Text = fixtureText('dcap/collateral/zkdcap_2025-01/tcb_info_00906ED50000.json');

/** The same TCB levels in TCB Info v2 form (PCS v3 API): sgxtcbcompNNsvn keys, no id, no advisoryIDs. */
function toV2(text: string): string {
  const body = JSON.parse(text);
  const t = body.tcbInfo;
  const v2 = {
    version: 2,
    issueDate: t.issueDate,
    nextUpdate: t.nextUpdate,
    fmspc: t.fmspc,
    pceId: t.pceId,
    tcbType: t.tcbType,
    tcbEvaluationDataNumber: t.tcbEvaluationDataNumber,
    tcbLevels: t.tcbLevels.map((l: { tcb: { sgxtcbcomponents: { svn: number }[]; pcesvn: number }; tcbDate: string; tcbStatus: string }) => {
      const tcb: Record<string, number> = {};
      l.tcb.sgxtcbcomponents.forEach((c, i) => (tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = c.svn));
      tcb.pcesvn = l.tcb.pcesvn;
      return { tcb, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus };
    }),
  };
  return JSON.stringify({ tcbInfo: v2, signature: body.signature });
}

test('TCB Info v2 is read into the same levels as v3 (statuses and order), without advisories', () => {
  const v3 = parseTcbInfo(parseSignedJson(v3Text, 'tcbInfo', 'v3'));
  const v2 = parseTcbInfo(parseSignedJson(toV2(v3Text), 'tcbInfo', 'v2'));
  assert.equal(v2.version, 2);
  assert.equal(v2.fmspc, v3.fmspc);
  assert.deepEqual(
    v2.levels.map((l) => [l.components, l.pceSvn, l.tcbStatus]),
    v3.levels.map((l) => [l.components, l.pceSvn, l.tcbStatus]),
  );
  assert.ok(v2.levels.every((l) => l.advisoryIds.length === 0));
});

test('a TCB Info v2 body is verified against its signature (an unsigned re-encoding is rejected)', () => {
  const dir = loadCollateralPath(fixturePath('dcap/collateral/zkdcap_2025-01'));
  const v = verifyQuote(fixtureBytes('dcap/quotes/zkdcap_v3.bin'), { ...dir, tcbInfo: toV2(v3Text) }, { now: 1737458686 });
  assert.equal(v.ok, false);
  assert.deepEqual(v.errors.map((e) => e.code), ['ERR_TCB_INFO_SIGNATURE']);
  assert.equal(v.tcbInfoVersion, 2);
});

test('level matching does not depend on the order levels are served in (Intel sorts them)', () => {
  const body = JSON.parse(v3Text);
  const info = parseTcbInfo(parseSignedJson(v3Text, 'tcbInfo', 'v3'));
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 20 }), fc.integer(), (comps, pce, seed) => {
      const levels = [...body.tcbInfo.tcbLevels];
      for (let i = levels.length - 1; i > 0; i--) {
        const j = Math.abs(seed + i * 7919) % (i + 1);
        [levels[i], levels[j]] = [levels[j], levels[i]];
      }
      const shuffled = parseTcbInfo({ ...parseSignedJson(v3Text, 'tcbInfo', 'x'), value: { ...body.tcbInfo, tcbLevels: levels } });
      assert.deepEqual(matchTcbLevel(shuffled, comps, pce), matchTcbLevel(info, comps, pce));
    }),
    { numRuns: 500 },
  );
});

test('the matched level is the highest one with every component and PCESVN at or below the PCK', () => {
  const info = parseTcbInfo(parseSignedJson(v3Text, 'tcbInfo', 'v3'));
  const top = info.levels[0];
  assert.equal(matchTcbLevel(info, top.components, top.pceSvn), top);
  // One component below the top level: not the top level any more.
  const lower = [...top.components];
  const k = lower.findIndex((c) => c > 0);
  lower[k] -= 1;
  assert.notEqual(matchTcbLevel(info, lower, top.pceSvn), top);
  assert.notEqual(matchTcbLevel(info, top.components, top.pceSvn - 1), top);
  assert.equal(matchTcbLevel(info, new Array(16).fill(0), 0), null);
  for (const l of info.levels) assert.ok((TCB_STATUSES as readonly string[]).includes(l.tcbStatus));
});

test('PCS issuer-chain headers (URL-encoded PEM) are accepted as the TCB Info and QE Identity chains', () => {
  const dir = loadCollateralPath(fixturePath('dcap/collateral/automata_2025-08'));
  const header = encodeURIComponent(toPem(fixtureBytes('dcap/collateral/automata_2025-08/tcb_signing.der')) + toPem(fixtureBytes('dcap/collateral/intel_sgx_root_ca.der')));
  const v = verifyQuote(
    fixtureBytes('dcap/quotes/automata_v3.bin'),
    { tcbInfo: dir.tcbInfo, qeIdentity: dir.qeIdentity, tcbInfoIssuerChain: header, qeIdentityIssuerChain: header, pckCrls: dir.pckCrls, rootCaCrl: dir.rootCaCrl },
    { now: 1755236700 },
  );
  assert.equal(v.ok, true, JSON.stringify(v.errors));
  assert.equal(v.status, 'SWHardeningNeeded');
});
