import type { Command } from 'commander';
import { toHex } from '../../lib/bytes.js';
import { ConfkubeError } from '../../lib/errors.js';
import { measureSgxs } from '../../sgx/sgxs.js';
import { EXIT_REJECTED, printJson, readInputFile } from '../util.js';

export function register(program: Command): void {
  program
    .command('sgxs')
    .description('SGX measurement streams (.sgxs)')
    .command('measure')
    .description('recompute MRENCLAVE from an .sgxs measurement stream (ECREATE/EADD/EEXTEND records, validated); exit 1 if the stream is malformed')
    .argument('<file>', '.sgxs file')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      try {
        const m = measureSgxs(readInputFile(file, '.sgxs file'));
        if (opts.json) printJson({ mrEnclave: toHex(m.mrEnclave), pages: m.pages, measuredChunks: m.measuredChunks, size: `0x${m.size.toString(16)}`, ssaFrameSize: m.ssaFrameSize, canonical: m.canonical });
        else process.stdout.write(`${toHex(m.mrEnclave)}\n`);
      } catch (e) {
        if (!(e instanceof ConfkubeError) || e.code === 'ERR_USAGE') throw e;
        if (opts.json) printJson({ error: { code: e.code, message: e.message } });
        else process.stderr.write(`${file}: ${e.code}: ${e.message}\n`);
        process.exitCode = EXIT_REJECTED;
      }
    });
}
