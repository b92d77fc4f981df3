import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fromHex, toHex } from '../../lib/bytes.js';
import { ConfkubeError } from '../../lib/errors.js';
import { createPlatform, loadPlatform, serveAttestationDir, writePlatform, PLATFORM_FILE, SIM_ROOT_SUBJECT_CN, SIM_TCB_STATUSES, type SimPlatformOptions } from '../../sim/index.js';
import type { TcbStatus } from '../../dcap/tcb-info.js';
import { UsageError, parseIntFlag, printJson, readInputFile } from '../util.js';
import { DEMO_DATA_DIR, DEMO_ENCLAVE, DEMO_PLATFORM_SUBDIR } from '../demo-enclave.js';

function hexFlag(value: string, flag: string, size: number, exact: boolean): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromHex(value.replace(/^0x/i, ''), flag);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (exact ? b.length !== size : b.length > size) throw new UsageError(`${flag}: expected ${exact ? '' : 'at most '}${size} bytes (${size * 2} hex digits), got ${b.length}`);
  return b;
}

function timeFlag(value: string, flag: string): Date {
  const d = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag}: not a date: ${JSON.stringify(value)} (Unix seconds or ISO 8601)`);
  return d;
}

function choice<T extends string | number>(value: string, flag: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => String(a) === value);
  if (hit === undefined) throw new UsageError(`${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return hit;
}

interface InitOpts {
  seed?: string;
  status?: string;
  qeOutOfDate?: boolean;
  collateral?: string;
  issuedAt?: string;
  tcbInfoVersion?: string;
  ca?: string;
  force?: boolean;
  json?: boolean;
}

interface QuoteOpts {
  mrenclave: string;
  mrsigner: string;
  isvProdId?: string;
  isvSvn?: string;
  debug?: boolean;
  reportData?: string;
  reportDataSha256?: string;
  quoteVersion?: string;
  output?: string;
  json?: boolean;
}

function loadOrUsage(dir: string) {
  try {
    return loadPlatform(dir);
  } catch (e) {
    if (e instanceof ConfkubeError) throw new UsageError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  const sim = program
    .command('sim')
    .description('simulated SGX platform: quotes and collateral in Intel formats under its own root (NOT Intel; trusted only with --trust-anchor DIR/root.pem)');

  sim
    .command('init')
    .description('create a simulated platform in DIR: root.pem, platform.json (seed, options, keys) and collateral/')
    .argument('<dir>', 'platform directory')
    .option('--seed <seed>', 'derive every key and identifier from this seed (default: random)')
    .option('--status <status>', `TCB status of the platform's quotes: ${SIM_TCB_STATUSES.join(', ')}`, 'UpToDate')
    .option('--qe-out-of-date', 'the Quoting Enclave is below the QE Identity UpToDate level')
    .option('--collateral <state>', 'collateral validity at --issued-at: valid, expired, not-yet-valid', 'valid')
    .option('--issued-at <time>', 'reference time of certificates and collateral, ISO 8601 (default: start of the current UTC day)')
    .option('--tcb-info-version <n>', 'TCB Info version: 3 (PCS v4) or 2 (PCS v3)', '3')
    .option('--ca <type>', 'PCK CA that issues the PCK certificate: processor or platform', 'processor')
    .option('--force', 'overwrite an existing platform in DIR')
    .option('--json', 'machine-readable summary')
    .action((dir: string, opts: InitOpts) => {
      const o: SimPlatformOptions = {
        status: choice<TcbStatus>(opts.status ?? 'UpToDate', '--status', SIM_TCB_STATUSES),
        qeOutOfDate: opts.qeOutOfDate === true,
        collateral: choice(opts.collateral ?? 'valid', '--collateral', ['valid', 'expired', 'not-yet-valid'] as const),
        tcbInfoVersion: choice(opts.tcbInfoVersion ?? '3', '--tcb-info-version', [2, 3] as const),
        caType: choice(opts.ca ?? 'processor', '--ca', ['processor', 'platform'] as const),
      };
      if (opts.seed !== undefined) {
        if (opts.seed.length === 0) throw new UsageError('--seed: must not be empty');
        o.seed = opts.seed;
      }
      if (opts.issuedAt !== undefined) o.issuedAt = timeFlag(opts.issuedAt, '--issued-at');
      if (existsSync(join(dir, PLATFORM_FILE)) && !opts.force) throw new UsageError(`${join(dir, PLATFORM_FILE)} exists: use --force to replace the platform`);
      const p = createPlatform(o);
      try {
        writePlatform(p, dir);
      } catch (e) {
        throw new UsageError(`cannot write the platform to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const e = p.expected;
      if (opts.json) {
        printJson({
          dir,
          rootSubjectCn: SIM_ROOT_SUBJECT_CN,
          options: { ...p.options, issuedAt: p.options.issuedAt.toISOString() },
          expected: { ...e, verificationTime: e.verificationTime.toISOString() },
          trustAnchor: join(dir, 'root.pem'),
          collateral: join(dir, 'collateral'),
        });
        return;
      }
      process.stdout.write(
        [
          `simulated SGX platform written to ${dir} (NOT Intel: trust it only with --trust-anchor ${join(dir, 'root.pem')})`,
          `  seed        ${p.options.seed}`,
          `  issued at   ${p.options.issuedAt.toISOString()}   collateral ${p.options.collateral}, TCB Info v${p.options.tcbInfoVersion}, PCK ${p.options.caType} CA`,
          `  FMSPC       ${e.fmspc}   expected status ${e.status}${e.advisoryIds.length ? ` [${e.advisoryIds.join(', ')}]` : ''}`,
          `  quote with: confkube sim quote ${dir} --mrenclave HEX --mrsigner HEX -o quote.bin`,
          `  verify with: confkube quote verify quote.bin --collateral ${join(dir, 'collateral')} --trust-anchor ${join(dir, 'root.pem')}`,
        ].join('\n') + '\n',
      );
    });

  sim
    .command('reissue')
    .description('re-issue the collateral of the platform in DIR (TCB Info, QE Identity, CRLs valid 30 days); keys, certificates and root.pem stay the same')
    .argument('<dir>', 'platform directory (from "confkube sim init")')
    .option('--at <time>', 'issue time, Unix seconds or ISO 8601 (default: start of the current UTC day)')
    .action((dir: string, opts: { at?: string }) => {
      const p = loadOrUsage(dir).reissue(opts.at === undefined ? undefined : timeFlag(opts.at, '--at'));
      try {
        writePlatform(p, dir);
      } catch (e) {
        throw new UsageError(`cannot write the platform to ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const next = new Date(p.options.collateralIssuedAt.getTime() + 30 * 86_400_000);
      process.stdout.write(`collateral of ${dir} re-issued at ${p.options.collateralIssuedAt.toISOString()} (valid until ${next.toISOString()}); root.pem unchanged\n`);
    });

  sim
    .command('quote')
    .description('write an SGX quote of the platform in DIR for the given enclave (raw binary with -o, else hex on stdout)')
    .argument('<dir>', 'platform directory (from "confkube sim init")')
    .requiredOption('--mrenclave <hex>', 'MRENCLAVE, 32 bytes')
    .requiredOption('--mrsigner <hex>', 'MRSIGNER, 32 bytes')
    .option('--isv-prod-id <n>', 'ISVPRODID (0..65535)', '0')
    .option('--isv-svn <n>', 'ISVSVN (0..65535)', '0')
    .option('--debug', 'set ATTRIBUTES.DEBUG (a debug enclave is not confidential)')
    .option('--report-data <hex>', 'report data, up to 64 bytes (zero-padded)')
    .option('--report-data-sha256 <file>', 'report data = SHA-256 of the file, then 32 zero bytes (enclave-held data binding)')
    .option('--quote-version <n>', 'quote version: 3 or 4 (v4 nests the PCK chain in QE report certification data)', '3')
    .option('-o, --output <file>', 'write the raw quote to this file')
    .option('--json', 'print a JSON summary (with the quote in hex)')
    .action((dir: string, opts: QuoteOpts) => {
      const mrEnclave = hexFlag(opts.mrenclave, '--mrenclave', 32, true);
      const mrSigner = hexFlag(opts.mrsigner, '--mrsigner', 32, true);
      const isvProdId = parseIntFlag(opts.isvProdId ?? '0', '--isv-prod-id', 0xffff);
      const isvSvn = parseIntFlag(opts.isvSvn ?? '0', '--isv-svn', 0xffff);
      const version = choice(opts.quoteVersion ?? '3', '--quote-version', [3, 4] as const);
      if (opts.reportData !== undefined && opts.reportDataSha256 !== undefined) throw new UsageError('--report-data and --report-data-sha256 are exclusive');
      let reportData: Uint8Array | undefined;
      if (opts.reportData !== undefined) reportData = hexFlag(opts.reportData, '--report-data', 64, false);
      if (opts.reportDataSha256 !== undefined) {
        reportData = new Uint8Array(createHash('sha256').update(readInputFile(opts.reportDataSha256, 'report data file')).digest());
      }
      const p = loadOrUsage(dir);
      const q = p.quote({ mrEnclave, mrSigner, isvProdId, isvSvn, debug: opts.debug === true, reportData, version });
      if (opts.output !== undefined) {
        try {
          writeFileSync(opts.output, q);
        } catch (e) {
          throw new UsageError(`cannot write ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      if (opts.json) {
        const e = p.expected;
        printJson({ quote: toHex(q), size: q.length, version, output: opts.output ?? null, expected: { status: e.status, advisoryIds: e.advisoryIds, collateralExpired: e.collateralExpired } });
      } else if (opts.output === undefined) process.stdout.write(`${toHex(q)}\n`);
      else process.stderr.write(`wrote a v${version} quote (${q.length} bytes) to ${opts.output}; expected status ${p.expected.status}\n`);
    });

  sim
    .command('attestation-dir')
    .description("play Gramine's /dev/attestation in DIR for the simulated platform: attestation_type says dcap, and each report data written to DIR/user_report_data gets a simulated quote in DIR/quote (an enclave app points CONFKUBE_ATTESTATION_DIR at DIR)")
    .argument('<dir>', 'directory to serve (created if missing)')
    .option('--platform <dir>', 'platform directory (from "confkube sim init"; default: the demo\'s)', join(DEMO_DATA_DIR, DEMO_PLATFORM_SUBDIR))
    .option('--mrenclave <hex>', "MRENCLAVE, 32 bytes (default: the demo enclave's)")
    .option('--mrsigner <hex>', "MRSIGNER, 32 bytes (default: the demo enclave's)")
    .option('--isv-prod-id <n>', 'ISVPRODID (0..65535)', String(DEMO_ENCLAVE.isvProdId))
    .option('--isv-svn <n>', 'ISVSVN (0..65535)', String(DEMO_ENCLAVE.isvSvn))
    .option('--debug', 'set ATTRIBUTES.DEBUG (a debug enclave is not confidential)')
    .action(async (dir: string, opts: { platform: string; mrenclave?: string; mrsigner?: string; isvProdId: string; isvSvn: string; debug?: boolean }) => {
      const enclave = {
        mrEnclave: opts.mrenclave !== undefined ? hexFlag(opts.mrenclave, '--mrenclave', 32, true) : DEMO_ENCLAVE.mrEnclave,
        mrSigner: opts.mrsigner !== undefined ? hexFlag(opts.mrsigner, '--mrsigner', 32, true) : DEMO_ENCLAVE.mrSigner,
        isvProdId: parseIntFlag(opts.isvProdId, '--isv-prod-id', 0xffff),
        isvSvn: parseIntFlag(opts.isvSvn, '--isv-svn', 0xffff),
        debug: opts.debug === true,
      };
      const p = loadOrUsage(opts.platform);
      let server;
      try {
        server = await serveAttestationDir(dir, p, enclave, { onError: (e) => process.stderr.write(`confkube: cannot write a quote in ${dir}: ${e.message}\n`) });
      } catch (e) {
        if (e instanceof ConfkubeError) throw new UsageError(e.message);
        throw e;
      }
      process.stdout.write(
        `serving a simulated /dev/attestation in ${dir} (platform ${opts.platform}, NOT Intel)\n` +
          `  enclave     MRENCLAVE ${toHex(enclave.mrEnclave)} MRSIGNER ${toHex(enclave.mrSigner)} ISVPRODID ${enclave.isvProdId} ISVSVN ${enclave.isvSvn}${enclave.debug ? ' DEBUG' : ''}\n` +
          `  enclave app CONFKUBE_ATTESTATION_DIR=${dir}\n` +
          `Stop with Ctrl-C.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
    });
}

