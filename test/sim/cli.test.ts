// `confkube sim init` / `sim quote` → `confkube quote verify --trust-anchor DIR/root.pem --json`: the scenario's
// status through the CLI, and usage errors exit 2 with a message.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { SIM_ROOT_SUBJECT_CN, SIM_TCB_STATUSES, createPlatform } from '../../src/sim/index.js';
import { toHex } from '../../src/lib/bytes.js';

const work = mkdtempSync(join(tmpdir(), 'confkube-sim-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

const MRE = 'a1'.repeat(32);
const MRS = 'b2'.repeat(32);

function verifyJson(quote: string, dir: string, extra: string[] = []) {
  const r = runCli(['quote', 'verify', quote, '--collateral', join(dir, 'collateral'), '--trust-anchor', join(dir, 'root.pem'), '--json', ...extra]);
  return { ...r, v: JSON.parse(r.stdout) as { ok: boolean; status: string | null; advisoryIds: string[]; collateralExpired: boolean; debug: boolean; errors: { code: string; message: string }[]; report: { mrEnclave: string; mrSigner: string; isvProdId: number; isvSvn: number; reportData: string } } };
}

test('every status through the CLI: sim init, sim quote, quote verify --json', () => {
  for (const status of SIM_TCB_STATUSES) {
    const dir = join(work, status);
    const init = runCli(['sim', 'init', dir, '--seed', `cli-${status}`, '--status', status, '--json']);
    assert.equal(init.status, 0, init.stderr);
    const summary = JSON.parse(init.stdout);
    assert.equal(summary.expected.status, status);
    assert.equal(summary.rootSubjectCn, SIM_ROOT_SUBJECT_CN);
    const qf = join(work, `${status}.bin`);
    const q = runCli(['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--isv-prod-id', '4', '--isv-svn', '9', '--report-data', 'cafe', '-o', qf]);
    assert.equal(q.status, 0, q.stderr);
    const { status: code, v } = verifyJson(qf, dir);
    assert.equal(v.status, status, JSON.stringify(v.errors));
    assert.deepEqual(v.advisoryIds, summary.expected.advisoryIds);
    assert.equal(v.ok, status !== 'Revoked');
    assert.equal(code, status === 'Revoked' ? 1 : 0);
    assert.equal(v.report.mrEnclave, MRE);
    assert.equal(v.report.mrSigner, MRS);
    assert.equal(v.report.isvProdId, 4);
    assert.equal(v.report.isvSvn, 9);
    assert.equal(v.report.reportData, `cafe${'00'.repeat(62)}`);
  }
});

test("the same quote under Intel's root (no --trust-anchor) is rejected: ERR_UNTRUSTED_ROOT naming the simulated root", () => {
  const dir = join(work, 'UpToDate');
  const r = runCli(['quote', 'verify', join(work, 'UpToDate.bin'), '--collateral', join(dir, 'collateral'), '--json']);
  assert.equal(r.status, 1);
  const v = JSON.parse(r.stdout);
  assert.equal(v.ok, false);
  assert.equal(v.errors[0].code, 'ERR_UNTRUSTED_ROOT');
  assert.ok(v.errors[0].message.includes(SIM_ROOT_SUBJECT_CN));
});

test('the CLI platform is the library platform: same seed and time → the same quote bytes', () => {
  const dir = join(work, 'repro');
  assert.equal(runCli(['sim', 'init', dir, '--seed', 'repro', '--issued-at', '2026-03-02T00:00:00Z', '--ca', 'platform', '--qe-out-of-date']).status, 0);
  const q = runCli(['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--debug', '--quote-version', '4']);
  assert.equal(q.status, 0, q.stderr);
  const lib = createPlatform({ seed: 'repro', issuedAt: new Date('2026-03-02T00:00:00Z'), caType: 'platform', qeOutOfDate: true });
  const mine = lib.quote({ mrEnclave: Buffer.from(MRE, 'hex'), mrSigner: Buffer.from(MRS, 'hex'), debug: true, version: 4 });
  assert.equal(q.stdout.trim(), toHex(mine));
  assert.equal(readFileSync(join(dir, 'root.pem'), 'utf8'), lib.rootCertPem);
  // Verified at the platform's own time: OutOfDate (QE) and flagged debug.
  const qf = join(work, 'repro.hex');
  writeFileSync(qf, q.stdout);
  const { v } = verifyJson(qf, dir, ['--at', '2026-03-02T01:00:00Z']);
  assert.equal(v.status, 'OutOfDate');
  assert.equal(v.debug, true);
  assert.equal(v.collateralExpired, false);
});

test('collateral scenarios and --report-data-sha256 through the CLI', () => {
  const dir = join(work, 'expired');
  assert.equal(runCli(['sim', 'init', dir, '--seed', 'e', '--collateral', 'expired', '--status', 'ConfigurationNeeded']).status, 0);
  const data = join(work, 'runtime-data.json');
  writeFileSync(data, '{"jwk":"example"}');
  const qf = join(work, 'expired.bin');
  assert.equal(runCli(['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--report-data-sha256', data, '-o', qf]).status, 0);
  const { v } = verifyJson(qf, dir);
  assert.equal(v.status, 'ConfigurationNeeded');
  assert.equal(v.collateralExpired, true);
  assert.equal(v.report.reportData, createHash('sha256').update('{"jwk":"example"}').digest('hex') + '00'.repeat(32));
  const strict = verifyJson(qf, dir, ['--strict']);
  assert.equal(strict.v.ok, false);
  assert.equal(strict.status, 1);
});

test('usage errors exit 2 with a message', () => {
  const dir = join(work, 'UpToDate');
  const cases: [string[], RegExp][] = [
    [['sim', 'quote', dir, '--mrenclave', 'abcd', '--mrsigner', MRS], /--mrenclave: expected 32 bytes/],
    [['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', 'zz'.repeat(32)], /--mrsigner: not a hex digit/],
    [['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--report-data', 'ab'.repeat(65)], /--report-data: expected at most 64 bytes/],
    [['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--report-data', 'ab', '--report-data-sha256', '/dev/null'], /exclusive/],
    [['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--isv-svn', '70000'], /--isv-svn/],
    [['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '--quote-version', '5'], /--quote-version: expected one of 3, 4/],
    [['sim', 'quote', join(work, 'no-such-platform'), '--mrenclave', MRE, '--mrsigner', MRS], /platform\.json.*sim init/],
    [['sim', 'init', join(work, 'x'), '--status', 'Fine'], /--status: expected one of UpToDate/],
    [['sim', 'init', join(work, 'x'), '--issued-at', 'yesterday'], /--issued-at/],
    [['sim', 'init', dir], /exists: use --force/],
  ];
  for (const [args, msg] of cases) {
    const r = runCli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  assert.equal(runCli(['sim', 'quote', dir, '--mrenclave', MRE]).status, 2, 'missing --mrsigner');
  const help = runCli(['sim', 'quote', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--report-data-sha256/);
});

test('sim reissue: fresh collateral, the same root.pem and quotes', () => {
  const dir = join(work, 'reissue');
  assert.equal(runCli(['sim', 'init', dir, '--seed', 'r', '--issued-at', '2026-01-01T00:00:00Z']).status, 0);
  const root = readFileSync(join(dir, 'root.pem'), 'utf8');
  const tcb = readFileSync(join(dir, 'collateral', 'tcb_info.json'), 'utf8');
  const qf = join(work, 'reissue.bin');
  assert.equal(runCli(['sim', 'quote', dir, '--mrenclave', MRE, '--mrsigner', MRS, '-o', qf]).status, 0);
  assert.equal(verifyJson(qf, dir, ['--at', '2026-04-01T12:00:00Z']).v.collateralExpired, true);
  const r = runCli(['sim', 'reissue', dir, '--at', '2026-04-01T00:00:00Z']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(dir, 'root.pem'), 'utf8'), root);
  assert.notEqual(readFileSync(join(dir, 'collateral', 'tcb_info.json'), 'utf8'), tcb);
  const after = verifyJson(qf, dir, ['--at', '2026-04-01T12:00:00Z', '--strict']);
  assert.equal(after.v.ok, true, JSON.stringify(after.v.errors));
  assert.equal(after.v.collateralExpired, false);
  assert.equal(runCli(['sim', 'reissue', dir, '--at', 'soon']).status, 2);
});
