#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's own test runner (TypeScript through tsx), several files at a time.
// Each file is its own process and every server a test starts listens on a free port, so files are independent;
// a file that holds a fixed resource says so with a line `// test-runner: serial` and runs alone, after the rest.
// Output is printed per file when it ends (never interleaved), then the ten slowest files and the failures.
// The TypeScript is compiled once for the run (scripts/build-tests.mjs) and each file runs as `node FILE.js` in that
// copy (node:test runs a file's tests when the file is run: one process, no loader); the end-to-end files run from
// source through tsx. With --checks, eslint and tsc run as two more jobs of the same pool, first.
// Usage: node scripts/run-tests.mjs [--checks] [--e2e] [substring filter ...]
// Environment: CONFKUBE_TEST_CONCURRENCY (default: the number of CPUs, at least 2).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { buildTests, removeBuild } from './build-tests.mjs';

const root = new URL('..', import.meta.url).pathname;
// --e2e: the end-to-end suite on the real control plane (test/e2e/, `npm run test:e2e`); without it, everything else.
const e2e = process.argv.includes('--e2e');
const checks = process.argv.includes('--checks');
const filters = process.argv.slice(2).filter((a) => a !== '--e2e' && a !== '--checks');
function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'fixtures' || name === 'node_modules' || name === 'harness') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
const files = walk(join(root, 'test'), []).sort()
  .filter((f) => f.startsWith('test/e2e/') === e2e)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const isSerial = (f) => /^\/\/ test-runner: serial$/m.test(readFileSync(join(root, f), 'utf8'));
const serial = files.filter(isSerial);
const parallel = files.filter((f) => !serial.includes(f));
const envConcurrency = Number(process.env.CONFKUBE_TEST_CONCURRENCY);
// The end-to-end files each run a control plane and the pod network's address range: one at a time.
const concurrency = e2e ? 1 : Number.isInteger(envConcurrency) && envConcurrency > 0 ? envConcurrency : Math.max(2, availableParallelism());

/** One job in its own process (a test file, or a check: the command is given); resolves with its status, output and wall time. */
function runJob(file, command = testCommand(file)) {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), {
      cwd: build && !CHECKS.has(file) ? build.dir : root, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      resolve({ file, ok: code === 0, status: code ?? signal, output: Buffer.concat(out).toString('utf8'), seconds });
    });
  });
}

// The compiled copy for the unit files (not for e2e: its harness runs from the source tree); its CLI for tests that
// start one.
const build = e2e ? null : buildTests(root);
if (build) {
  process.env.CONFKUBE_TEST_CLI = build.main;
  process.on('exit', () => removeBuild(build.dir));
}
function testCommand(file) {
  return build
    ? [process.execPath, '--test-reporter=spec', join(build.dir, file.replace(/\.ts$/, '.js'))]
    : [process.execPath, '--import', 'tsx', '--test-reporter=spec', file];
}

const bin = (name) => join(root, 'node_modules/.bin', name);
const CHECKS = new Map([
  ['lint (eslint .)', [bin('eslint'), '.']],
  ['typecheck (tsc --noEmit)', [bin('tsc'), '-p', 'tsconfig.json', '--noEmit']],
]);

function report(r) {
  process.stdout.write(`\n▶ ${r.file} (${r.seconds.toFixed(1)} s${r.ok ? '' : `, FAILED: exit ${r.status}`})\n${r.output}`);
}

async function pool(list, n) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const f = list[next++];
      const r = await runJob(f, CHECKS.get(f));
      report(r);
      results.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, list.length) }, worker));
  return results;
}

const t0 = process.hrtime.bigint();
console.log(`running ${files.length} test files${checks ? ` and ${CHECKS.size} checks` : ""}: ${parallel.length} up to ${concurrency} at a time, ${serial.length} alone`);
const results = [...(await pool([...(checks ? CHECKS.keys() : []), ...parallel], concurrency)), ...(await pool(serial, 1))];
const total = Number(process.hrtime.bigint() - t0) / 1e9;
const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 10);
console.log(`\nslowest test files:`);
for (const r of slowest) console.log(`  ${r.seconds.toFixed(1).padStart(7)} s  ${r.file}`);
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length} files in ${total.toFixed(1)} s (concurrency ${concurrency}); ${failed.length === 0 ? 'all passed' : `${failed.length} failed:`}`);
for (const r of failed) console.log(`  ✖ ${r.file} (exit ${r.status})`);
// One closing line over every file (each file's own runner prints `ℹ pass N` / `ℹ fail N`); a file that died
// before its runner's summary counts as one failure.
const count = (r, what) => Number([...r.output.matchAll(new RegExp(`^ℹ ${what} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? 0);
const passed = results.reduce((n, r) => n + count(r, 'pass'), 0);
const failedTests = results.reduce((n, r) => n + Math.max(count(r, 'fail'), r.ok ? 0 : 1), 0);
console.log(`tests: ${passed} passed, ${failedTests} failed`);
process.exit(failed.length === 0 ? 0 : 1);
