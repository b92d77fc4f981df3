import type { Command } from 'commander';
import { bytesEqual, toHex } from '../../lib/bytes.js';
import { findSigstructs } from '../../sgx/enclave-file.js';
import { measureSgxs } from '../../sgx/sgxs.js';
import { verifySigstruct } from '../../sgx/sigstruct.js';
import { EXIT_OK, EXIT_REJECTED, printJson, readInputFile, reportRejected } from '../util.js';

export function register(program: Command): void {
  program
    .command('sgxs')
    .description('SGX measurement streams (.sgxs)')
    .command('measure')
    .description(
      'recompute MRENCLAVE from an .sgxs measurement stream (ECREATE/EADD/EEXTEND records, validated). With --sig, ' +
        'also check that the SIGSTRUCT promises this MRENCLAVE (its ENCLAVEHASH) and is validly signed. Exit 0 ok; ' +
        '1 malformed stream, bad SIGSTRUCT or mismatch; 2 bad usage',
    )
    .argument('<file>', '.sgxs file')
    .option('--sig <file>', 'SIGSTRUCT (.sig) or signed enclave whose ENCLAVEHASH must equal the measurement')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean; sig?: string }) => {
      const stream = readInputFile(file, '.sgxs file');
      const sigFile = opts.sig === undefined ? undefined : readInputFile(opts.sig, 'SIGSTRUCT file');
      try {
        const m = measureSgxs(stream);
        const mrEnclave = toHex(m.mrEnclave);
        let sig: { mrEnclave: string; matches: boolean; signatureValid: boolean } | undefined;
        if (sigFile) {
          // Fortanix EDP ships app.sgxs beside app.sig: EINIT refuses the enclave unless they agree.
          const s = findSigstructs(sigFile)[0].sigstruct;
          const v = verifySigstruct(s);
          sig = { mrEnclave: toHex(s.mrEnclave), matches: bytesEqual(s.mrEnclave, m.mrEnclave), signatureValid: v.signatureValid && v.q1q2Valid };
        }
        const ok = !sig || (sig.matches && sig.signatureValid);
        if (opts.json) {
          printJson({ mrEnclave, pages: m.pages, measuredChunks: m.measuredChunks, size: `0x${m.size.toString(16)}`, ssaFrameSize: m.ssaFrameSize, canonical: m.canonical, ...(sig ? { sigstruct: sig } : {}) });
        } else {
          process.stdout.write(`${mrEnclave}\n`);
          if (sig && !sig.matches) process.stderr.write(`${opts.sig}: ENCLAVEHASH ${sig.mrEnclave} differs from the measured MRENCLAVE\n`);
          if (sig && !sig.signatureValid) process.stderr.write(`${opts.sig}: the SIGSTRUCT signature is not valid\n`);
        }
        process.exitCode = ok ? EXIT_OK : EXIT_REJECTED;
      } catch (e) {
        reportRejected(file, e, opts.json);
      }
    });
}
