import { createHash, generateKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ClientError } from './errors.js';
import { postJson, withRetries, type HttpTarget, type RetryOptions } from './http.js';
import { openJwe } from './jwe.js';
import { assertQuoteFor, attestationDirQuoteSource, functionQuoteSource, GRAMINE_ATTESTATION_DIR, REPORT_DATA_SIZE, type QuoteFunction, type QuoteSource } from './quote-source.js';

/** The environment a confkube-injected enclave pod gets (docs/enclave-apps.md §Finding the service). */
export const ENV_URL = 'CONFKUBE_ATTESTATION_URL';
export const ENV_CA = 'CONFKUBE_ATTESTATION_CA';
export const ENV_DIR = 'CONFKUBE_ATTESTATION_DIR';

export interface EnclaveClientOptions {
  /** The service's base URL (https). Default: `$CONFKUBE_ATTESTATION_URL`. */
  url?: string;
  /** PEM of the CA that signs the service's certificate. */
  ca?: string;
  /** File with that PEM. Default: `$CONFKUBE_ATTESTATION_CA`; neither: Node's default CAs. */
  caFile?: string;
  /** Where quotes come from. Default: the attestation directory `$CONFKUBE_ATTESTATION_DIR`, else `/dev/attestation`. */
  quoteSource?: QuoteSource | QuoteFunction;
  /** How long a quote may take from an attestation directory (ms; default 10 000). */
  quoteTimeoutMs?: number;
  /** The enclave's release key: RSA 2048 (default) or 3072 bits. */
  rsaModulusLength?: 2048 | 3072;
  /** Per HTTP request (ms; default 30 000). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Where the defaults are read from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

export interface AttestResult {
  /** The service's attestation token (JWT, RS256). Verify it against the service's `/certs` before relying on it elsewhere. */
  token: string;
  /** Its payload, decoded, not verified: the client trusts the service it reached over TLS. */
  claims: Record<string, unknown>;
}

export type ReleaseForm = 'challenge' | 'token';

export interface ReleaseOptions {
  /** A key version; default: the current one. */
  version?: string;
  /** `challenge` (quote, runtime data and nonce in one call) or `token` (attest first, then release with the token). Default `challenge`. */
  form?: ReleaseForm;
}

interface EnclaveKey {
  privateKey: KeyObject;
  jwk: { kty: 'RSA'; kid: string; key_ops: ['encrypt']; n: string; e: string };
}

const ATTEST_PATH = '/attest/SgxEnclave?api-version=2022-08-01';

function keyPair(bits: number): Promise<EnclaveKey> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits }, (err, publicKey, privateKey) => {
      if (err) return reject(new ClientError('ERR_CLIENT_CONFIG', `cannot make an RSA-${bits} key: ${err.message}`));
      const { n, e } = publicKey.export({ format: 'jwk' });
      resolve({ privateKey, jwk: { kty: 'RSA', kid: `enclave-${randomBytes(8).toString('hex')}`, key_ops: ['encrypt'], n: n!, e: e! } });
    });
  });
}

/** Azure Attestation's runtime-data binding for SgxEnclave (docs/enclave-apps.md §Report data): SHA-256(R) ‖ 32 zero bytes. */
export function reportDataFor(runtimeData: Uint8Array): Uint8Array {
  const rd = new Uint8Array(REPORT_DATA_SIZE);
  rd.set(createHash('sha256').update(runtimeData).digest(), 0);
  return rd;
}

function stringField(o: Record<string, unknown>, field: string, what: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v.length === 0) throw new ClientError('ERR_CLIENT_BAD_RESPONSE', `${what}: the answer has no "${field}" string`);
  return v;
}

function decodeClaims(token: string): Record<string, unknown> {
  try {
    const c = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    if (c && typeof c === 'object' && !Array.isArray(c)) return c as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ClientError('ERR_CLIENT_BAD_RESPONSE', 'attest: the token is not a JWT with a JSON payload');
}

/**
 * An enclave app's client of the confkube attestation service (docs/enclave-apps.md): attest, and release a key
 * wrapped to a key pair made inside the enclave, so the secret exists in clear only in the enclave's memory.
 */
export class EnclaveClient {
  readonly baseUrl: string;
  readonly quoteSource: QuoteSource;
  private readonly target: HttpTarget;
  private readonly retry: RetryOptions;
  private readonly bits: number;

  constructor(o: EnclaveClientOptions = {}) {
    const env = o.env ?? process.env;
    const url = o.url ?? env[ENV_URL];
    const urlFrom = o.url !== undefined ? 'url' : ENV_URL;
    if (!url) throw new ClientError('ERR_CLIENT_CONFIG', `no service URL: pass { url } or set ${ENV_URL}`);
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw new ClientError('ERR_CLIENT_CONFIG', `${urlFrom}: not a URL: ${JSON.stringify(url)}`);
    }
    if (base.protocol !== 'https:') throw new ClientError('ERR_CLIENT_CONFIG', `${urlFrom}: ${base.origin} is not https (the service is reached over TLS only)`);
    let ca = o.ca;
    const caFile = o.caFile ?? (ca === undefined ? env[ENV_CA] : undefined);
    if (caFile) {
      try {
        ca = readFileSync(caFile, 'utf8');
      } catch (e) {
        throw new ClientError('ERR_CLIENT_CONFIG', `cannot read the service CA ${caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) throw new ClientError('ERR_CLIENT_CONFIG', `the service CA${caFile ? ` ${caFile}` : ''} holds no PEM certificate`);
    const bits = o.rsaModulusLength ?? 2048;
    if (bits !== 2048 && bits !== 3072) throw new ClientError('ERR_CLIENT_CONFIG', `rsaModulusLength must be 2048 or 3072, got ${String(bits)}`);
    this.bits = bits;
    this.baseUrl = base.href.replace(/\/$/, '');
    this.target = { baseUrl: new URL(base.href.endsWith('/') ? base.href : `${base.href}/`), ...(ca !== undefined ? { ca } : {}), timeoutMs: o.timeoutMs ?? 30_000 };
    this.retry = o.retry ?? {};
    const source = o.quoteSource;
    this.quoteSource = typeof source === 'function'
      ? functionQuoteSource(source)
      : source ?? attestationDirQuoteSource(env[ENV_DIR] || GRAMINE_ATTESTATION_DIR, o.quoteTimeoutMs !== undefined ? { timeoutMs: o.quoteTimeoutMs } : {});
  }

  private async quoteFor(runtime: Uint8Array): Promise<Uint8Array> {
    const reportData = reportDataFor(runtime);
    return assertQuoteFor(await this.quoteSource.quote(reportData), reportData, this.quoteSource.description);
  }

  private async attestOnce(runtime: Uint8Array): Promise<AttestResult> {
    const quote = await this.quoteFor(runtime);
    const body = { quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: Buffer.from(runtime).toString('base64url'), dataType: 'JSON' } };
    const token = stringField(await postJson(this.target, ATTEST_PATH, body, 'attest'), 'token', 'attest');
    return { token, claims: decodeClaims(token) };
  }

  /**
   * Attest this enclave: a quote over SHA-256 of `runtimeData` (JSON, carried in the token as `x-ms-runtime`),
   * sent to `/attest/SgxEnclave`; the token back.
   */
  attest(o: { runtimeData?: Record<string, unknown> } = {}): Promise<AttestResult> {
    const runtime = Buffer.from(JSON.stringify(o.runtimeData ?? {}));
    return withRetries(() => this.attestOnce(runtime), this.retry);
  }

  /**
   * The secret of key `name` (docs/enclave-apps.md §Release): a nonce from the service, a fresh RSA key pair, runtime
   * data `{"nonce","keys":[…]}` bound in the quote, the release, and the JWE opened with the private key. The JWE
   * header must name the key, version and nonce asked for. Network failures and 5xx restart the exchange with a
   * new nonce (a nonce works once).
   */
  async releaseKey(name: string, o: ReleaseOptions = {}): Promise<Uint8Array> {
    if (typeof name !== 'string' || !/^[A-Za-z0-9-]{1,127}$/.test(name)) throw new ClientError('ERR_CLIENT_CONFIG', `key name ${JSON.stringify(name)}: expected 1 to 127 letters, digits or "-"`);
    if (o.version !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(o.version)) throw new ClientError('ERR_CLIENT_CONFIG', `key version ${JSON.stringify(o.version)}: expected 1 to 64 letters, digits or "-"`);
    const form = o.form ?? 'challenge';
    if (form !== 'challenge' && form !== 'token') throw new ClientError('ERR_CLIENT_CONFIG', `release form ${JSON.stringify(form)}: expected "challenge" or "token"`);
    const key = await keyPair(this.bits);
    const keyPath = `/keys/${encodeURIComponent(name)}`;
    const releasePath = `${keyPath}${o.version !== undefined ? `/${encodeURIComponent(o.version)}` : ''}/release`;
    const what = `release ${name}${o.version !== undefined ? ` version ${o.version}` : ''}`;
    return withRetries(async () => {
      const nonce = stringField(await postJson(this.target, `${keyPath}/nonce`, {}, `nonce for ${name}`), 'nonce', `nonce for ${name}`);
      const runtime = Buffer.from(JSON.stringify({ nonce, keys: [key.jwk] }));
      let body: Record<string, unknown>;
      if (form === 'token') {
        body = { target: (await this.attestOnce(runtime)).token, nonce };
      } else {
        const quote = await this.quoteFor(runtime);
        body = { quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' } };
      }
      const value = stringField(await postJson(this.target, releasePath, body, what), 'value', what);
      const { plaintext, header } = openJwe(value, key.privateKey);
      const expect: [string, unknown][] = [['x-confkube-key', name], ['nonce', nonce], ...(o.version !== undefined ? [['x-confkube-key-version', o.version] as [string, unknown]] : [])];
      for (const [field, want] of expect) {
        if (header[field] !== want) {
          throw new ClientError('ERR_CLIENT_JWE_INVALID', `${what}: the JWE header's "${field}" is ${JSON.stringify(header[field])}, the client asked for ${JSON.stringify(want)}`);
        }
      }
      if (header.kid !== undefined && header.kid !== key.jwk.kid) throw new ClientError('ERR_CLIENT_JWE_INVALID', `${what}: the JWE is for key ${JSON.stringify(header.kid)}, not this enclave's ${key.jwk.kid}`);
      return plaintext;
    }, this.retry);
  }
}

/** `new EnclaveClient(options)`: the service, its CA and the quote source from options or the environment. */
export function createEnclaveClient(o: EnclaveClientOptions = {}): EnclaveClient {
  return new EnclaveClient(o);
}
