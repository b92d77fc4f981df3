import type { Command } from 'commander';
import { bytesEqual, decodeBinaryInput, toHex } from '../../lib/bytes.js';
import { ConfkubeError } from '../../lib/errors.js';
import { isElf } from '../../sgx/elf.js';
import { findSigstructs, type FoundSigstruct } from '../../sgx/enclave-file.js';
import { measureSdkEnclave } from '../../sgx/sgxs.js';
import { SIGSTRUCT_SIZE, sigstructToJson, verifySigstruct } from '../../sgx/sigstruct.js';
import { EXIT_OK, EXIT_REJECTED, printJson, readInputFile, reportRejected } from '../util.js';

/** SIGSTRUCT offset inside metadata_t (docs/sgx.md §Enclave files). */
const METADATA_CSS_OFFSET = 64;

const SOURCE_NAMES: Record<FoundSigstruct['source'], string> = {
  sigstruct: 'SIGSTRUCT',
  'sgx-sdk': 'Intel SGX SDK signed enclave',
  openenclave: 'Open Enclave / EGo enclave',
};

/**
 * For an SDK enclave, rebuild MRENCLAVE from the file as the loader would: a SIGSTRUCT whose ENCLAVEHASH
 * differs from the code beside it cannot pass EINIT (a swapped binary or a copied signature).
 */
function recompute(file: Uint8Array, f: FoundSigstruct) {
  if (f.source !== 'sgx-sdk') return {};
  try {
    const mr = measureSdkEnclave(file, f.offset - METADATA_CSS_OFFSET);
    const matches = bytesEqual(mr, f.sigstruct.mrEnclave);
    // The 1.x loader path is checked against a real Intel enclave (the TD QE vector); 2.x layouts (EDMM,
    // ELRANGE) are not, so a difference there is reported but not taken as proof of tampering.
    if (!matches && !f.metadataVersion?.startsWith('1.')) {
      return { measuredMrEnclave: toHex(mr), mrEnclaveMatches: null, measureProblem: `the recomputed MRENCLAVE differs, but the metadata ${f.metadataVersion} layout is not verified against a real enclave` };
    }
    return { measuredMrEnclave: toHex(mr), mrEnclaveMatches: matches };
  } catch (e) {
    if (!(e instanceof ConfkubeError)) throw e;
    return { measuredMrEnclave: null, mrEnclaveMatches: null, measureProblem: `${e.code}: ${e.message}` };
  }
}

function blockJson(file: Uint8Array, f: FoundSigstruct) {
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
    ...recompute(file, f),
  };
}

export function register(program: Command): void {
  program
    .command('sigstruct')
    .description('inspect SGX enclave signatures (SIGSTRUCT)')
    .command('inspect')
    .description(
      'show the SIGSTRUCT of a raw SIGSTRUCT or Gramine .sig (binary, hex or base64), an Intel SGX SDK signed enclave, ' +
        'or an Open Enclave / EGo binary; for SDK enclaves MRENCLAVE is also recomputed from the file. Exit 0: signature ' +
        'valid (every SDK metadata block identical, recomputed MRENCLAVE equal to ENCLAVEHASH); 1: invalid, inconsistent ' +
        'or no SIGSTRUCT found; 2: bad usage',
    )
    .argument('<file>', 'file to inspect')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      let bytes = readInputFile(file, 'enclave file');
      if (!isElf(bytes) && bytes.length !== SIGSTRUCT_SIZE) {
        const decoded = decodeBinaryInput(bytes);
        if (decoded.length === SIGSTRUCT_SIZE) bytes = decoded;
      }
      let found: FoundSigstruct[];
      try {
        found = findSigstructs(bytes);
      } catch (e) {
        reportRejected(file, e, opts.json);
        return;
      }
      const blocks = found.map((f) => blockJson(bytes, f));
      // The SDK loader picks one metadata block by platform and version, so all of them must carry the same
      // SIGSTRUCT or the identity would depend on the machine (docs/sgx.md §Enclave files).
      const agree = found.every((f) => bytesEqual(f.sigstruct.raw, found[0].sigstruct.raw));
      const first = blocks[0];
      const ok = agree && blocks.every((b) => b.signatureValid && b.mrEnclaveMatches !== false);
      if (opts.json) printJson({ ...first, ...(blocks.length > 1 ? { blocks, blocksAgree: agree } : {}) });
      else {
        const lines = [
          `${SOURCE_NAMES[first.source]}: signature ${first.signatureValid ? 'valid' : `INVALID (${first.signatureProblem})`}`,
          `  MRSIGNER   ${first.mrSigner}${first.signatureValid ? '  (trust it only if you trust this signer)' : ''}`,
          `  MRENCLAVE  ${first.mrEnclave}`,
          `  ISVPRODID  ${first.isvProdId}  ISVSVN ${first.isvSvn}  vendor ${first.vendor}  date ${first.date}`,
          `  attributes ${first.attributes.names.join(' ') || '(none)'}  flags ${first.attributes.flags} xfrm ${first.attributes.xfrm}  mask ${first.attributeMask.flags} / ${first.attributeMask.xfrm}`,
          `  misc       select ${first.miscSelect} mask ${first.miscMask}`,
          first.debugAllowed
            ? '  DEBUG      allowed: the signature does not forbid the DEBUG attribute; only the attested report tells'
            : '  DEBUG      forbidden by the signature',
          `  release    ${first.releaseType} (HEADER type ${first.headerType})`,
        ];
        if (first.source === 'sgx-sdk') {
          lines.push(
            first.mrEnclaveMatches === true
              ? '  code       MRENCLAVE recomputed from the enclave file: matches'
              : first.mrEnclaveMatches === false
                ? `  code       MRENCLAVE recomputed from the enclave file is ${first.measuredMrEnclave}: it DIFFERS, EINIT would refuse this enclave`
                : `  code       MRENCLAVE not confirmed from the file (${first.measureProblem})`,
          );
        }
        if (blocks.length > 1) {
          lines.push(`  ${blocks.length} metadata blocks (${blocks.map((b) => b.metadataVersion).join(', ')}): ${agree ? 'identical SIGSTRUCTs' : 'SIGSTRUCTs DIFFER'}`);
          if (!agree) for (const b of blocks) lines.push(`    ${b.metadataVersion}: MRENCLAVE ${b.mrEnclave} MRSIGNER ${b.mrSigner} ISVSVN ${b.isvSvn}`);
        }
        process.stdout.write(lines.join('\n') + '\n');
      }
      process.exitCode = ok ? EXIT_OK : EXIT_REJECTED;
    });
}
