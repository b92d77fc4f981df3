import type { Command } from 'commander';
import { checkPolicy, compilePolicy, DEFAULT_POLICIES, policyHash, PolicyError, type Claim, type PolicyDecision } from '../../policy/index.js';
import { EXIT_OK, EXIT_REJECTED, EXIT_USAGE, printJson, readInputFile, UsageError } from '../util.js';

/** The exact text of a file: the policy hash covers every byte (docs/policy.md §Policy hash), so nothing is trimmed. */
function readText(path: string, what: string): string {
  const bytes = readInputFile(path, what);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} ${path} is not UTF-8 text`);
  }
}

/** A claims file: an array of {type, value[, issuer]} or an object map {type: value} (issuer AttestationService). */
function readClaims(path: string): Claim[] | Record<string, unknown> {
  let j: unknown;
  try {
    j = JSON.parse(readText(path, 'claims file'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`claims file ${path} is not JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(j)) {
    j.forEach((c, i) => {
      const ok = c !== null && typeof c === 'object' && typeof c.type === 'string' && c.value !== undefined
        && (c.issuer === undefined || typeof c.issuer === 'string');
      if (!ok) throw new UsageError(`claims file ${path}: element ${i} is not {"type": string, "value": ..., "issuer"?: string}`);
    });
    return j as Claim[];
  }
  if (j !== null && typeof j === 'object') return j as Record<string, unknown>;
  throw new UsageError(`claims file ${path}: expected an array of claims or an object mapping claim types to values`);
}

function errorLine(file: string, e: PolicyError): string {
  return `${file}:${e.line}:${e.column}: ${e.reason}`;
}

const show = (v: unknown): string => JSON.stringify(v);

function printDecision(d: PolicyDecision): void {
  const lines = [d.permitted ? 'permit' : `deny: ${d.denyReason ?? ''}`];
  if (d.issuedClaims.length) {
    lines.push('issued claims:');
    for (const c of d.issuedClaims) lines.push(`  ${c.type} = ${show(c.value)}`);
  }
  if (d.issuedProperties.length) {
    lines.push('properties:');
    for (const c of d.issuedProperties) lines.push(`  ${c.type} = ${show(c.value)}`);
  }
  lines.push(`matched rules: ${d.matchedRules.length ? d.matchedRules.join(', ') : '(none)'}`);
  process.stdout.write(lines.join('\n') + '\n');
}

export function register(program: Command): void {
  const policy = program.command('policy').description('attestation policies in the Azure Attestation policy language (versions 1.0-1.2)');

  policy
    .command('check')
    .description('parse a policy; errors are printed as FILE:line:column: message (exit 0 valid, 1 invalid)')
    .argument('<file>', 'policy text file')
    .option('--lenient', "accept the typos of Microsoft's doc samples (= for ==, missing ;, typographic quotes) with warnings")
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { lenient?: boolean; json?: boolean }) => {
      const text = readText(file, 'policy file');
      const r = checkPolicy(text, { lenient: opts.lenient === true });
      if (opts.json) {
        printJson(r.ok
          ? { ok: true, policyHash: policyHash(text), warnings: r.warnings }
          : { ok: false, errors: r.errors.map((e) => ({ code: e.code, line: e.line, column: e.column, message: e.reason, ...(e.expected !== undefined ? { expected: e.expected } : {}) })) });
      } else if (r.ok) {
        const out = r.warnings.map((w) => `${file}:${w.line}:${w.column}: warning: ${w.message}`);
        out.push(`${file}: ok (x-ms-policy-hash ${policyHash(text)})`);
        process.stdout.write(out.join('\n') + '\n');
      } else {
        process.stdout.write(r.errors.map((e) => errorLine(file, e)).join('\n') + '\n');
      }
      process.exitCode = r.ok ? EXIT_OK : EXIT_REJECTED;
    });

  policy
    .command('eval')
    .description('evaluate a policy against claims; prints the decision and the issued claims (exit 0 permit, 1 deny, 2 bad usage)')
    .argument('<file>', 'policy text file')
    .requiredOption('--claims <file>', 'JSON claims: an array of {"type", "value", "issuer"?} or an object {"type": value}')
    .option('--lenient', "accept the typos of Microsoft's doc samples with warnings")
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { claims: string; lenient?: boolean; json?: boolean }) => {
      const text = readText(file, 'policy file');
      const claims = readClaims(opts.claims);
      let compiled;
      try {
        compiled = compilePolicy(text, { lenient: opts.lenient === true });
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        // A policy that does not parse is bad input to eval, not a denial.
        if (opts.json) printJson({ error: { code: e.code, line: e.line, column: e.column, message: e.reason } });
        else process.stderr.write(errorLine(file, e) + '\n');
        process.exitCode = EXIT_USAGE;
        return;
      }
      const d = compiled.evaluate(claims);
      if (opts.json) printJson({ ...d, policyHash: policyHash(text), version: compiled.version });
      else printDecision(d);
      process.exitCode = d.permitted ? EXIT_OK : EXIT_REJECTED;
    });

  policy
    .command('hash')
    .description('print the x-ms-policy-hash Azure Attestation puts in tokens for this exact policy text')
    .argument('<file>', 'policy text file')
    .action((file: string) => {
      process.stdout.write(policyHash(readText(file, 'policy file')) + '\n');
    });

  policy
    .command('default')
    .description('print the default policy of an attestation type (byte-exact: its hash matches real Azure tokens)')
    .option('--type <type>', 'SgxEnclave or OpenEnclave', 'SgxEnclave')
    .action((opts: { type: string }) => {
      const text = (DEFAULT_POLICIES as Record<string, string>)[opts.type];
      if (text === undefined) throw new UsageError(`--type: expected SgxEnclave or OpenEnclave, got ${JSON.stringify(opts.type)}`);
      process.stdout.write(text);
    });
}
