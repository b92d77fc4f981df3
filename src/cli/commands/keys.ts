import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EXIT_REJECTED, parseIntFlag, printJson, readInputFile, UsageError } from '../util.js';

interface Conn { url: string; ca?: string; adminTokenFile?: string }

/** The admin bearer token: --admin-token-file (first non-empty line) or CONFKUBE_ADMIN_TOKEN. */
function adminToken(o: Conn): string {
  if (o.adminTokenFile) {
    const line = new TextDecoder().decode(readInputFile(o.adminTokenFile, 'admin token file')).split(/\r?\n/).map((l) => l.trim()).find(Boolean);
    if (!line) throw new UsageError(`admin token file ${o.adminTokenFile} is empty`);
    return line;
  }
  const env = process.env.CONFKUBE_ADMIN_TOKEN?.trim();
  if (env) return env;
  throw new UsageError('key management needs the admin token: --admin-token-file FILE or CONFKUBE_ADMIN_TOKEN');
}

/** One call to the management API (docs/keyrelease.md §Management API); prints the JSON answer, or the error and exit code 1. */
async function call(o: Conn, method: string, path: string, body?: unknown): Promise<void> {
  let url: URL;
  try {
    url = new URL(`${o.url.replace(/\/+$/, '')}${path}`);
  } catch {
    throw new UsageError(`--url: not a URL: ${o.url}`);
  }
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const ca = o.ca ? readFileSync(o.ca) : undefined;
  const headers: Record<string, string> = { authorization: `Bearer ${adminToken(o)}`, ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) };
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, ...(ca ? { ca } : {}) }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (e) => reject(new UsageError(`cannot reach ${url.origin}: ${e.message}`)));
    req.end(payload);
  });
  let parsed: { error?: { code?: string; message?: string } };
  try {
    parsed = JSON.parse(res.text);
  } catch {
    throw new UsageError(`${url.origin} answered HTTP ${res.status} with a body that is not JSON`);
  }
  if (res.status >= 300) {
    process.stderr.write(`confkube: ${method} ${path}: HTTP ${res.status} ${parsed.error?.code ?? ''}: ${parsed.error?.message ?? res.text}\n`);
    process.exitCode = EXIT_REJECTED;
    return;
  }
  printJson(parsed);
}

function readPolicy(path: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(readInputFile(path, 'release policy')));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`release policy ${path} is not JSON: ${(e as Error).message}`);
  }
}

/** The secret of a new version: a file's bytes or N random bytes made by the service. */
function secretOf(o: { secretFile?: string; generate?: string }): Record<string, unknown> {
  if ((o.secretFile === undefined) === (o.generate === undefined)) throw new UsageError('give --secret-file FILE or --generate BYTES');
  return o.secretFile !== undefined
    ? { secret: Buffer.from(readInputFile(o.secretFile, 'secret')).toString('base64url') }
    : { generateBytes: parseIntFlag(o.generate!, '--generate', 8192) };
}

const name = (n: string): string => encodeURIComponent(n);

export function register(program: Command): void {
  const keys = program.command('keys').description('manage the keys of secure key release on a running service (docs/keyrelease.md)');
  const conn = (c: Command): Command => c
    .requiredOption('--url <url>', 'service base URL')
    .option('--ca <cert>', 'trust this CA certificate (PEM) for the service TLS')
    .option('--admin-token-file <file>', 'file holding the admin bearer token (else CONFKUBE_ADMIN_TOKEN)');

  conn(keys.command('list').description('keys, deleted ones with their purge date')).action((o: Conn) => call(o, 'GET', '/keys'));
  conn(keys.command('show').argument('<name>').description('a key')).action((n: string, o: Conn) => call(o, 'GET', `/keys/${name(n)}`));
  conn(keys.command('versions').argument('<name>').description('a key\'s versions, newest first')).action((n: string, o: Conn) => call(o, 'GET', `/keys/${name(n)}/versions`));
  conn(keys.command('create').argument('<name>').description('a new key with its first version')
    .requiredOption('--policy <file>', 'release policy (Azure SKR JSON with an optional confkube section)')
    .option('--secret-file <file>', 'the secret')
    .option('--generate <bytes>', 'let the service generate a secret of this many random bytes')
    .option('--retention-days <n>', 'days a deleted key stays recoverable (7-90, default 90)'))
    .action((n: string, o: Conn & { policy: string; secretFile?: string; generate?: string; retentionDays?: string }) => call(o, 'PUT', `/keys/${name(n)}`, {
      ...secretOf(o), releasePolicy: readPolicy(o.policy), ...(o.retentionDays ? { retentionDays: parseIntFlag(o.retentionDays, '--retention-days', 90) } : {}),
    }));
  conn(keys.command('rotate').argument('<name>').description('a new current version (older versions stay releasable while enabled)')
    .option('--policy <file>', 'release policy of the new version (default: the current version\'s)')
    .option('--secret-file <file>', 'the secret')
    .option('--generate <bytes>', 'let the service generate a secret of this many random bytes'))
    .action((n: string, o: Conn & { policy?: string; secretFile?: string; generate?: string }) => call(o, 'POST', `/keys/${name(n)}/rotate`, {
      ...secretOf(o), ...(o.policy ? { releasePolicy: readPolicy(o.policy) } : {}),
    }));
  for (const [cmd, enabled] of [['enable', true], ['disable', false]] as const) {
    conn(keys.command(cmd).argument('<name>').argument('<version>').description(`${cmd} one version`))
      .action((n: string, v: string, o: Conn) => call(o, 'PATCH', `/keys/${name(n)}/${name(v)}`, { attributes: { enabled } }));
  }
  conn(keys.command('delete').argument('<name>').description('soft delete: never released again, recoverable until its purge date'))
    .action((n: string, o: Conn) => call(o, 'DELETE', `/keys/${name(n)}`));
  conn(keys.command('recover').argument('<name>').description('undelete a key before its purge date')).action((n: string, o: Conn) => call(o, 'POST', `/keys/${name(n)}/recover`));
}
