import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The arguments to Node that start the confkube CLI: the copy scripts/run-tests.mjs compiled for this run
 * (CONFKUBE_TEST_CLI), else the source through tsx (a test file run on its own).
 */
export const CLI_FROM_SOURCE: readonly string[] = ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts')];
export const CLI: readonly string[] = process.env.CONFKUBE_TEST_CLI ? [process.env.CONFKUBE_TEST_CLI] : CLI_FROM_SOURCE;

/** Run the confkube CLI. */
export function runCli(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, ...opts.env },
    timeout: 120_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI as a child process without blocking the event loop: for commands talking to a service running in this process. */
export async function runCliAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...CLI, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, stdout, stderr };
}
