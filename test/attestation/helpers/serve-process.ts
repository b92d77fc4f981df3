import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REAL_CASE, TEST_KEK_HEX, freePort } from './harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServeProcess {
  /** Where it listens (the canonical base URL may differ). */
  url: string;
  child: ChildProcess;
  /** What it printed when it started listening. */
  banner: string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** `confkube serve` in its own process on 127.0.0.1 with the real collateral at the case's time. */
export async function startServeProcess(o: { store: string; tlsKey: string; tlsCert: string; baseUrl?: string; port?: number; args?: string[] }): Promise<ServeProcess> {
  const port = o.port ?? (await freePort());
  const url = `https://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve',
    '--listen', `127.0.0.1:${port}`, '--base-url', o.baseUrl ?? url, '--store', o.store, '--tls-key', o.tlsKey, '--tls-cert', o.tlsCert,
    '--collateral', REAL_CASE.collateral, '--verify-at', new Date(REAL_CASE.nowMs).toISOString(), ...(o.args ?? [])],
  // The admin token from the environment: on the command line it would show in the process list.
  { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFKUBE_ADMIN_TOKENS: 'test-admin-token-0123456789abcdef', CONFKUBE_KEK: TEST_KEK_HEX } });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening on') && out.includes('\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`confkube serve exited ${code}: ${err}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url, child, banner: out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
