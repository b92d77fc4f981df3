import { toHex } from '../lib/bytes.js';
import { ISSUER_SERVICE, LEGACY_ALIASES, type Claim } from './claims.js';

type Bytes = Uint8Array | string;
const hex = (b: Bytes): string => (typeof b === 'string' ? b.toLowerCase() : toHex(b));
const nonZero = (b: Bytes | undefined): b is Bytes => b !== undefined && (typeof b === 'string' ? /[1-9a-f]/i.test(b) : b.some((x) => x !== 0));

export interface SgxReportClaimsInput {
  mrEnclave: Bytes;
  mrSigner: Bytes;
  isvProdId: number;
  isvSvn: number;
  debug: boolean;
  reportData?: Bytes;
  /** Ice Lake KSS fields: claims appear only when non-zero (docs/policy.md §SGX incoming claims). */
  configId?: Bytes;
  configSvn?: number;
  isvExtProdId?: Bytes;
  isvFamilyId?: Bytes;
  /** base64url of Binary runtime data (`x-ms-sgx-ehd`). */
  ehd?: string;
  /** Parsed JSON runtime / init-time data, kept as JSON so 1.2 `JmesPath` can query it (docs/policy.md §SGX incoming claims). */
  runtime?: unknown;
  initTime?: unknown;
  collateral?: Record<string, string>;
}

/**
 * The incoming claims of an SGX enclave (docs/policy.md §SGX incoming claims), issuer AttestationService, with the legacy `$` types
 * that older policies test. Hex is lower case: MAA's `x-ms-sgx-mrsigner` is lower case and string comparison is
 * exact (docs/policy.md §Comparisons).
 */
export function sgxClaimsFromReport(r: SgxReportClaimsInput): Claim[] {
  const out: Claim[] = [];
  const put = (type: string, value: unknown): void => { out.push({ type, value, issuer: ISSUER_SERVICE }); };
  put('x-ms-ver', '1.0');
  put('x-ms-attestation-type', 'sgx');
  put('x-ms-sgx-is-debuggable', r.debug);
  put('x-ms-sgx-mrenclave', hex(r.mrEnclave));
  put('x-ms-sgx-mrsigner', hex(r.mrSigner));
  put('x-ms-sgx-product-id', r.isvProdId);
  put('x-ms-sgx-svn', r.isvSvn);
  if (r.reportData !== undefined) put('x-ms-sgx-report-data', hex(r.reportData));
  if (nonZero(r.configId) || (r.configSvn ?? 0) !== 0) {
    if (r.configId !== undefined) put('x-ms-sgx-config-id', hex(r.configId));
    put('x-ms-sgx-config-svn', r.configSvn ?? 0);
  }
  if (nonZero(r.isvExtProdId)) put('x-ms-sgx-isv-extended-product-id', hex(r.isvExtProdId));
  if (nonZero(r.isvFamilyId)) put('x-ms-sgx-isv-family-id', hex(r.isvFamilyId));
  if (r.ehd !== undefined) put('x-ms-sgx-ehd', r.ehd);
  if (r.runtime !== undefined) put('x-ms-runtime', r.runtime);
  if (r.initTime !== undefined) put('x-ms-inittime', r.initTime);
  if (r.collateral !== undefined) put('x-ms-sgx-collateral', r.collateral);
  const byType = new Map(out.map((c) => [c.type, c.value]));
  for (const [alias, name] of LEGACY_ALIASES) {
    if (byType.has(name)) put(alias, byType.get(name));
  }
  return out;
}
