import type { Command } from 'commander';
import { decodeBinaryInput } from '../../lib/bytes.js';
import { parseQuote } from '../../sgx/quote.js';
import { quoteToJson } from '../../sgx/quote-json.js';
import { CERT_DATA_TYPES } from '../../sgx/quote.js';
import { EXIT_REJECTED, UsageError, printJson, readInputFile, reportRejected } from '../util.js';
import { toHex } from '../../lib/bytes.js';
import { verifyQuote, type Verdict } from '../../dcap/verify-quote.js';
import { verdictToJson } from '../../dcap/verdict-json.js';
import { loadCollateralPath } from '../collateral-path.js';
import { pemDecode } from '../../lib/pem.js';
import { parsePckExtensions } from '../../sgx/pck.js';
import type { CollateralInput } from '../../dcap/collateral.js';

export function register(program: Command): void {
  const quote = program.command('quote').description('inspect and verify SGX DCAP quotes');
  quote
    .command('inspect')
    .description('parse a quote (raw binary, hex, base64 or base64url) and print its fields')
    .argument('<file>', 'quote file')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { json?: boolean }) => {
      const bytes = decodeBinaryInput(readInputFile(file, 'quote'));
      let json;
      try {
        json = quoteToJson(parseQuote(bytes));
      } catch (e) {
        reportRejected(file, e, opts.json);
        return;
      }
      if (opts.json) {
        printJson(json);
        return;
      }
      const lines = [
        `quote v${json.version} ${json.tee}, ECDSA P-256 attestation key, QE SVN ${json.qeSvn}, PCE SVN ${json.pceSvn}`,
      ];
      if (json.report) {
        const r = json.report;
        lines.push(
          `  MRENCLAVE   ${r.mrEnclave}`,
          `  MRSIGNER    ${r.mrSigner}`,
          `  ISVPRODID   ${r.isvProdId}   ISVSVN ${r.isvSvn}   CONFIGSVN ${r.configSvn}`,
          `  attributes  ${r.attributes.names.join(' ') || '(none)'}${r.attributes.debug ? '   <-- DEBUG enclave: not confidential' : ''}`,
          `  report data ${r.reportData}`,
        );
      }
      lines.push(`  QE          MRENCLAVE ${json.qeReport.mrEnclave.slice(0, 16)}…  ISVSVN ${json.qeReport.isvSvn}`);
      lines.push(`  certification data: type ${json.certificationData.type} (${CERT_DATA_TYPES[json.certificationData.type] ?? 'unknown'}), ${json.certificationData.size} bytes`);
      if (json.pck) lines.push(`  PCK         FMSPC ${json.pck.fmspc}  PCE-ID ${json.pck.pceId}  PCESVN ${json.pck.pceSvn}  TCB [${json.pck.tcbComponents.join(',')}]`);
      if (json.trailingBytes) lines.push(`  ${json.trailingBytes} trailing bytes after the signature data (ignored)`);
      process.stdout.write(lines.join('\n') + '\n');
    });

  quote
    .command('verify')
    .description('verify a quote against collateral with Intel DCAP semantics (exit 0 authentic and not revoked, 1 rejected)')
    .argument('<quote>', 'quote file (raw binary, hex, base64 or base64url)')
    .option('--collateral <path>', 'collateral directory (files recognised by content) or a dcap-qvl bundle JSON')
    .option('--pccs-url <url>', 'fetch the collateral from a PCS/PCCS v4 API instead (Intel PCS, a PCCS, or confkube\'s attestation service)')
    .option('--pccs-ca <cert>', 'trust this CA (PEM) for the --pccs-url TLS')
    .option('--at <time>', 'verification time: Unix seconds or ISO 8601 (default: now)')
    .option('--trust-anchor <cert>', 'trusted root certificate(s), PEM or DER (default: Intel SGX Root CA)')
    .option('--strict', 'reject expired or not-yet-valid collateral')
    .option('--allow-missing-crls', 'verify without CRLs (revocation unchecked; reported as a warning)')
    .option('--json', 'machine-readable verdict')
    .action(async (file: string, opts: { collateral?: string; pccsUrl?: string; pccsCa?: string; at?: string; trustAnchor?: string; strict?: boolean; allowMissingCrls?: boolean; json?: boolean }) => {
      const bytes = decodeBinaryInput(readInputFile(file, 'quote'));
      if ((opts.collateral === undefined) === (opts.pccsUrl === undefined)) throw new UsageError('give one of --collateral PATH or --pccs-url URL');
      const collateral = opts.collateral !== undefined ? loadCollateralPath(opts.collateral) : await collateralFromPccs(bytes, opts.pccsUrl!, opts.pccsCa);
      const now = opts.at === undefined ? new Date() : parseTime(opts.at);
      const trustAnchors = opts.trustAnchor ? readTrustAnchors(opts.trustAnchor) : undefined;
      const verdict = verifyQuote(bytes, collateral, { now, trustAnchors, strict: opts.strict, allowMissingCrls: opts.allowMissingCrls });
      if (opts.json) printJson(verdictToJson(verdict));
      else process.stdout.write(summary(verdict));
      process.exitCode = verdict.ok ? 0 : EXIT_REJECTED;
    });
}

/** The collateral for a quote's FMSPC (from its PCK certificate) fetched from a PCS/PCCS v4 API (docs/pccs.md §Verifying with the service). */
async function collateralFromPccs(quoteBytes: Uint8Array, url: string, caFile: string | undefined): Promise<CollateralInput> {
  const { fetchPcsCollateral } = await import('../../attestation/pcs-client.js');
  const { fetchTrusting } = await import('../../pccs/https-fetch.js');
  let fmspc: string;
  try {
    const pck = parseQuote(quoteBytes).certificationData.pckChain?.[0];
    if (!pck) throw new UsageError('the quote carries no PCK certificate: --pccs-url needs its FMSPC');
    fmspc = toHex(parsePckExtensions(pck).fmspc);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`quote: ${(e as Error).message}`);
  }
  const records = await fetchPcsCollateral(url, fmspc, Date.now(), 30_000, fetchTrusting(caFile ? Buffer.from(readInputFile(caFile, 'PCCS CA')) : undefined)).catch((e: Error) => {
    throw new UsageError(`--pccs-url ${url}: ${e.message}`);
  });
  const get = (k: string) => records.find((r) => r.key === k);
  const tcb = get(`tcb:${fmspc}`)!;
  const qe = get('qe')!;
  const crls = records.filter((r) => r.key.startsWith('pckcrl:'));
  const root = get('rootcacrl');
  return {
    tcbInfo: tcb.body, qeIdentity: qe.body, pckCrls: crls.map((r) => r.body),
    ...(tcb.issuerChain ? { tcbInfoIssuerChain: tcb.issuerChain } : {}),
    ...(qe.issuerChain ? { qeIdentityIssuerChain: qe.issuerChain } : {}),
    ...(crls[0]?.issuerChain ? { pckCrlIssuerChain: crls.map((r) => r.issuerChain ?? '').join('') } : {}),
    ...(root ? { rootCaCrl: root.body } : {}),
  };
}

function parseTime(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new UsageError(`--at: expected Unix seconds or an ISO 8601 time, got ${JSON.stringify(s)}`);
  return t / 1000;
}

function readTrustAnchors(path: string): Uint8Array[] {
  const data = readInputFile(path, 'trust anchor');
  const text = Buffer.from(data).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const ders = pemDecode(text);
    return ders;
  }
  return [data];
}

function summary(v: Verdict): string {
  const lines: string[] = [];
  if (v.ok) lines.push(`AUTHENTIC: ${v.status} — ${STATUS_WORDS[v.status ?? ''] ?? ''}`);
  else if (v.status === 'Revoked') lines.push(`REJECTED: Revoked — ${STATUS_WORDS.Revoked}`);
  else lines.push(`REJECTED: ${v.errors[0]?.code ?? 'unknown'}`);
  for (const e of v.errors) lines.push(`  error   ${e.code}: ${e.message}`);
  for (const w of v.warnings) lines.push(`  warning ${w.code}: ${w.message}`);
  if (v.status) lines.push(`  platform ${v.platformStatus}, QE ${v.qeStatus}, TCB date ${v.tcbDate}, TCB evaluation ${v.tcbEvaluationDataNumber}`);
  if (v.advisoryIds.length) lines.push(`  advisories ${v.advisoryIds.join(', ')}`);
  if (v.fmspc) lines.push(`  FMSPC ${v.fmspc}, ${v.pckCa ?? 'unknown'} CA`);
  if (v.report) {
    lines.push(`  MRENCLAVE ${toHex(v.report.mrEnclave)}`, `  MRSIGNER  ${toHex(v.report.mrSigner)}`, `  ISVPRODID ${v.report.isvProdId}  ISVSVN ${v.report.isvSvn}`);
    if (v.debug) lines.push('  DEBUG enclave: its memory can be read by the host; reject it in production policy');
  }
  if (v.collateralExpired) lines.push(`  collateral not valid at the verification time (earliest expiry ${v.earliestExpiry})`);
  return lines.join('\n') + '\n';
}

/** Status in words for the human summary. */
export const STATUS_WORDS: Record<string, string> = {
  UpToDate: 'the platform is up to date',
  SWHardeningNeeded: 'the platform is patched; the enclave software must carry the listed mitigations',
  ConfigurationNeeded: 'the platform needs a BIOS/configuration change',
  ConfigurationAndSWHardeningNeeded: 'the platform needs a configuration change and the enclave software the listed mitigations',
  OutOfDate: 'the platform (microcode, BIOS or QE) is out of date and has known vulnerabilities',
  OutOfDateConfigurationNeeded: 'the platform is out of date and needs a configuration change',
  Revoked: 'the platform or its keys are revoked: do not trust this quote',
};
