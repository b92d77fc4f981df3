// A throwaway PostgreSQL server for tests: initdb + pg_ctl from the Debian package binaries, in a temporary
// folder, listening on a free port on 127.0.0.1 only, trust authentication for one user. Stopped and removed by stop().
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  url: string;
  port: number;
  /** Runs SQL as the superuser through psql (for test setup such as ALTER DATABASE). */
  psql(sql: string, database?: string): string;
  /** Stops the server the way a crash does (pg_ctl -m immediate: no checkpoint, no flush), keeping its data. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data (after crash()); it replays its WAL first. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const PG_LIB = '/usr/lib/postgresql';

/** The newest installed server's bin folder; a clear failure (not a skip) when PostgreSQL is not installed. */
export function postgresBinDir(): string {
  const versions = existsSync(PG_LIB) ? readdirSync(PG_LIB).filter((v) => existsSync(join(PG_LIB, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL is not installed: no ${PG_LIB}/*/bin/initdb. Install the Debian package: apt-get update && apt-get install -y postgresql`);
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return join(PG_LIB, versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** initdb refuses to run as root: as root, run the binaries as the `postgres` OS user that the package creates. */
function asServerUser(): { wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { wrap: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]], uid, gid };
}

function run(cmd: [string, string[]], what: string, logFile?: string): void {
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8' });
  if (r.status !== 0) {
    const log = logFile && existsSync(logFile) ? `\n${readFileSync(logFile, 'utf8')}` : '';
    throw new Error(`${what} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}${log}`);
  }
}

const running = new Set<() => void>();
// A test that dies before stop() must not leave a server behind.
process.once('exit', () => { for (const f of running) f(); });

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = asServerUser();
  const dir = mkdtempSync(join(tmpdir(), 'confkube-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    run(user.wrap(join(bin, 'initdb'), ['-D', data, '-U', 'confkube', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']), 'initdb');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pgCtl = join(bin, 'pg_ctl');
  const stopNow = (mode: string): void => { spawnSync(...user.wrap(pgCtl, ['stop', '-D', data, '-m', mode, '-w'])); };
  let port = 0;
  const startOn = (p: number): void => {
    const opts = `-c listen_addresses=127.0.0.1 -c port=${p} -c unix_socket_directories=${dir} -c max_connections=100 -c fsync=on`;
    run(user.wrap(pgCtl, ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', opts]), 'pg_ctl start', log);
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      startOn(port);
      break;
    } catch (e) {
      // The free port can be taken between the probe and the bind; try another.
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const cleanup = (): void => {
    stopNow('immediate');
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(cleanup);
  let stopped = false;
  return {
    url: `postgres://confkube@127.0.0.1:${port}/postgres`,
    port,
    psql(sql, database = 'postgres') {
      const r = spawnSync(join(bin, 'psql'), ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'confkube', '-d', database, '-c', sql], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    async crash() {
      run(user.wrap(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w']), 'pg_ctl stop -m immediate', log);
    },
    async restart() {
      startOn(port);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(cleanup);
      stopNow('fast');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
