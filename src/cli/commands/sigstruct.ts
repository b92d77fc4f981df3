import type { Command } from 'commander';
import { ConfkubeError } from '../../lib/errors.js';
import { findSigstructs } from '../../sgx/enclave-file.js';
import { sigstructToJson, verifySigstruct } from '../../sgx/sigstruct.js';
import { EXIT_REJECTED, printJson, readInputFile } from '../util.js';

export function register(program: Command): void {
  program
    .command('sigstruct')
    .description('inspect SGX enclave signatures (SIGSTRUCT)')
    .command('inspect')
    .description('show the SIGSTRUCT of a raw SIGSTRUCT / Gramine .sig, an Intel SGX SDK signed enclave, or an Open Enclave / EGo binary (exit 0 valid, 1 invalid or inconsistent)')
    .argument('<file>', 'file to inspect')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      const bytes = readInputFile(file, 'enclave file');
      let found;
      try {
        found = findSigstructs(bytes);
      } catch (e) {
        if (!(e instanceof ConfkubeError)) throw e;
        if (opts.json) printJson({ error: { code: e.code, message: e.message } });
        else process.stderr.write(`${file}: ${e.code}: ${e.message}\n`);
        process.exitCode = EXIT_REJECTED;
        return;
      }
      const blocks = found.map((f) => {
        const check = verifySigstruct(f.sigstruct);
        return {
          source: f.source,
          offset: f.offset,
          ...(f.metadataVersion ? { metadataVersion: f.metadataVersion } : {}),
          ...sigstructToJson(f.sigstruct),
          // EINIT needs both the RSA signature and the Q1/Q2 helpers; either failing means the enclave cannot launch.
          signatureValid: check.signatureValid && check.q1q2Valid,
          q1q2Valid: check.q1q2Valid,
          ...(check.reason ? { signatureProblem: check.reason } : {}),
        };
      });
      // Several SDK metadata blocks must carry the same SIGSTRUCT (the loader may pick any of them).
      const agree = found.every((f) => Buffer.compare(Buffer.from(f.sigstruct.raw), Buffer.from(found[0].sigstruct.raw)) === 0);
      const first = blocks[0];
      const out = { ...first, ...(blocks.length > 1 ? { blocks, blocksAgree: agree } : {}) };
      const ok = blocks.every((b) => b.signatureValid) && agree;
      if (opts.json) printJson(out);
      else {
        const lines = [
          `${first.source === 'sigstruct' ? 'SIGSTRUCT' : first.source === 'sgx-sdk' ? 'Intel SGX SDK signed enclave' : 'Open Enclave / EGo enclave'}: signature ${first.signatureValid ? 'valid' : `INVALID (${first.signatureProblem})`}`,
          `  MRSIGNER  ${first.mrSigner}`,
          `  MRENCLAVE ${first.mrEnclave}`,
          `  ISVPRODID ${first.isvProdId}  ISVSVN ${first.isvSvn}  vendor ${first.vendor}  date ${first.date}`,
          `  attributes ${first.attributes.names.join(' ') || '(none)'} (flags ${first.attributes.flags}, mask ${first.attributeMask.flags})`,
          first.debugSigned ? '  may run as DEBUG: the signature does not forbid the DEBUG attribute; check the attested report' : '  DEBUG is forbidden by the signature',
        ];
        if (blocks.length > 1) lines.push(`  ${blocks.length} metadata blocks (${blocks.map((b) => b.metadataVersion).join(', ')}): ${agree ? 'identical SIGSTRUCTs' : 'SIGSTRUCTs DIFFER'}`);
        process.stdout.write(lines.join('\n') + '\n');
      }
      process.exitCode = ok ? 0 : EXIT_REJECTED;
    });
}
