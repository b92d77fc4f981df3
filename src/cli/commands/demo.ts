import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError, parseIntFlag } from '../util.js';
import { freePort } from '../../lib/net.js';
import { findPackageFile } from '../../lib/package-file.js';
import { DEMO_DATA_DIR, DEMO_ENCLAVE, DEMO_PLATFORM_SUBDIR } from '../demo-enclave.js';
import { DEMO_KEY, FAQ_JOB_YAML, demoKeyPolicy, demoKeySecret, fingerprint, runDemoEnclaveApp, runSelf } from '../demo-flow.js';

/** How this process was started, so the printed lines run as printed (installed binary, built bin, or tsx). */
function selfCommand(): string {
  const script = process.argv[1] ?? '';
  if (/^confkube(\.js)?$/.test(basename(script)) && !script.includes('/bin/confkube.js')) return 'confkube';
  const rel = relative(process.cwd(), script) || script;
  return ['node', ...process.execArgv, rel].join(' ');
}

const quoteArg = (p: string): string => (/^[\w./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);

/** `node` as this process runs it; from the TypeScript tree, `confkube/client` resolves to its source (package.json `exports`). */
function nodeCommand(): string {
  const fromSource = process.execArgv.some((a) => a.includes('tsx'));
  return ['node', ...process.execArgv, ...(fromSource ? ['--conditions=confkube-source'] : [])].join(' ');
}

/**
 * `confkube demo` (npm start): the attestation service on this machine, nothing to configure. HTTPS on 127.0.0.1
 * with a self-signed certificate, SQLite, and a simulated SGX platform, all in the data folder; simulation mode on.
 */
async function demo(o: { dataDir: string; port: string; exitAfterStart?: boolean }): Promise<void> {
  const { createAttestationService, createTlsCertificate } = await import('../../attestation/index.js');
  const { openServiceStore, loadPolicyEngine, simulatedPlatformIn } = await import('../service-runtime.js');
  const { keyProtectorFrom, newKekText } = await import('../../store/index.js');
  const dir = resolve(o.dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The demo's folder is its own: keep it and its store the owner's alone, also when made by an older version.
  chmodSync(dir, 0o700);
  for (const f of ['confkube.db', 'confkube.db-wal', 'confkube.db-shm']) if (existsSync(join(dir, f))) chmodSync(join(dir, f), 0o600);
  const rel = relative(process.cwd(), dir) || '.';
  const shown = rel.startsWith('..') ? dir : rel;
  const at = (f: string): string => quoteArg(join(shown, f));
  const port = o.port === '0' ? await freePort() : parseIntFlag(o.port, '--port', 65535);

  const keyFile = join(dir, 'tls.key');
  const certFile = join(dir, 'tls.crt');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    const tls = await createTlsCertificate(['127.0.0.1', 'localhost']);
    writeFileSync(keyFile, tls.key, { mode: 0o600 });
    writeFileSync(certFile, tls.cert);
  }
  const tokenFile = join(dir, 'admin-token');
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  const adminToken = readFileSync(tokenFile, 'utf8').trim();

  const { platform, created } = await simulatedPlatformIn(join(dir, DEMO_PLATFORM_SUBDIR));
  // A ready quote of a demo enclave whose report data binds runtime data (docs/attestation.md §Evidence binding: SHA-256 in the first 32 bytes).
  const runtime = Buffer.from(JSON.stringify({ hello: 'confkube', createdAt: new Date().toISOString().slice(0, 10) }));
  const quote = platform.quote({ ...DEMO_ENCLAVE, reportData: createHash('sha256').update(runtime).digest() });
  writeFileSync(join(dir, 'quote.bin'), quote);
  writeFileSync(join(dir, 'runtime-data.json'), runtime);
  writeFileSync(join(dir, 'attest-request.json'), JSON.stringify({ quote: Buffer.from(quote).toString('base64url'), runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' } }) + '\n');

  // The demo makes its own key-encryption key: signing keys in confkube.db are sealed under it (docs/key-protection.md).
  const kekFile = join(dir, 'kek');
  if (!existsSync(kekFile)) writeFileSync(kekFile, newKekText(), { mode: 0o600 });
  const keyProtector = keyProtectorFrom({ file: kekFile }, (m) => process.stderr.write(`confkube: WARNING: ${m}\n`));

  const baseUrl = `https://127.0.0.1:${port}`;
  const simPcs = (await import('../../sim/index.js')).simulatedPcs(platform);
  const { parseReleasePolicy } = await import('../../keyrelease/index.js');
  const { serveAttestationDir } = await import('../../sim/index.js');
  const demoSecret = demoKeySecret(dir);
  const faqFile = join(dir, 'faq-sgx-test-job.yaml');
  writeFileSync(faqFile, FAQ_JOB_YAML);
  const store = await openServiceStore(`sqlite:${join(dir, 'confkube.db')}`, { warn: (m) => process.stderr.write(`confkube: WARNING: ${m}\n`) });
  const svc = await createAttestationService({
    baseUrl, store, engine: await loadPolicyEngine(), keyProtector,
    tls: { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') },
    collateral: { simulated: { rootCertDer: platform.rootCertDer, files: platform.collateralFiles() } },
    pccs: { simulated: simPcs },
    adminTokens: [adminToken],
    defaultMetrics: true,
    releasableKeys: [{ name: DEMO_KEY, secret: demoSecret, policy: parseReleasePolicy(demoKeyPolicy(baseUrl)) }],
  });
  // The simulated platform registers its PCK certificates as its quote provider library would (docs/pccs.md §Simulation).
  await svc.pck.register(simPcs.registration);
  try {
    await svc.app.listen({ host: '127.0.0.1', port });
  } catch (e) {
    await svc.close();
    await store.close();
    throw new UsageError(`cannot listen on 127.0.0.1:${port}: ${(e as Error).message} (choose another with --port)`);
  }
  // The simulated /dev/attestation the demo enclave app reads its quotes from (docs/enclave-apps.md §Simulated attestation directory).
  const attestationDir = join(dir, 'attestation');
  const served = await serveAttestationDir(attestationDir, platform, DEMO_ENCLAVE, { onError: (e) => process.stderr.write(`confkube: WARNING: ${attestationDir}: ${e.message}\n`) });
  const self = selfCommand();
  const out = process.stdout;
  out.write(`confkube attestation service (Azure Attestation API) on ${baseUrl}\n`);
  out.write(`  data folder  ${shown}/ (SQLite confkube.db with its signing key sealed under kek, TLS tls.crt, simulated platform sim/${created ? ', created now' : ''})\n`);
  out.write(`  simulation   ON: quotes from the simulated SGX platform are trusted and marked "x-ms-sgx-is-simulated": true\n`);
  out.write(`  admin token  ${at('admin-token')} (policy management: Authorization: Bearer <token>)\n`);
  out.write(`  demo key     ${DEMO_KEY}: ${demoSecret.length} bytes (${at(`${DEMO_KEY}.secret`)}, SHA-256 ${fingerprint(demoSecret)}…), released only to the demo enclave's MRSIGNER, not debuggable, with a fresh nonce\n\n`);

  out.write(`A simulated enclave app (confkube/client, quotes from the simulated /dev/attestation in ${at('attestation')}/):\n`);
  let failed = false;
  try {
    for (const l of await runDemoEnclaveApp({ baseUrl, caFile: certFile, attestationDir, forms: ['challenge', 'token'] })) out.write(`  ${l}\n`);
  } catch (e) {
    failed = true;
    out.write(`  FAILED: ${(e as Error).message}\n`);
  }
  out.write('\n1. Attest the ready simulated quote:\n');
  out.write(`  ${self} attest ${at('quote.bin')} --url ${baseUrl} --ca ${at('tls.crt')} --runtime-json ${at('runtime-data.json')}\n`);
  out.write(`or with curl:\n`);
  out.write(`  curl --cacert ${at('tls.crt')} -H 'content-type: application/json' --data @${at('attest-request.json')} '${baseUrl}/attest/SgxEnclave?api-version=2022-08-01'\n\n`);
  const r = simPcs.registration;
  out.write(`The simulated platform's PCK certificate, as Intel's quote provider library asks for it (docs/pccs.md):\n`);
  out.write(`  curl --cacert ${at('tls.crt')} '${baseUrl}/sgx/certification/v4/pckcert?encrypted_ppid=${r.enc_ppid}&cpusvn=${r.cpu_svn}&pcesvn=${r.pce_svn}&pceid=${r.pce_id}&qeid=${r.qe_id}'\n\n`);
  const app = findPackageFile('examples/enclave-app/app.mjs', import.meta.url);
  if (app) {
    out.write(`2. Run the example enclave app (examples/enclave-app/; the same code runs under Gramine with /dev/attestation):\n`);
    out.write(`  CONFKUBE_ATTESTATION_URL=${baseUrl} CONFKUBE_ATTESTATION_CA=${at('tls.crt')} CONFKUBE_ATTESTATION_DIR=${at('attestation')} ${nodeCommand()} ${quoteArg(relative(process.cwd(), app) || app)} --once\n\n`);
  }
  out.write(`3. Rotate the demo key, then run step 2 again: the app receives the new version (older ones stay releasable while enabled):\n`);
  out.write(`  ${self} keys rotate ${DEMO_KEY} --generate 32 --url ${baseUrl} --ca ${at('tls.crt')} --admin-token-file ${at('admin-token')}\n\n`);
  out.write(`4. Where the AKS FAQ's SGX Job lands: the webhook rewrites its EPC request to sgx.intel.com/epc and adds the enclave device:\n`);
  out.write(`  ${self} webhook --review ${at('faq-sgx-test-job.yaml')}\n`);
  const review = await runSelf(['webhook', '--review', faqFile]);
  for (const l of review.out.trimEnd().split('\n')) out.write(`    ${l}\n`);
  out.write(`\nSigning keys: ${baseUrl}/certs   OpenID: ${baseUrl}/.well-known/openid-configuration   metrics: ${baseUrl}/metrics\n`);
  out.write(`Azure SDKs: NODE_EXTRA_CA_CERTS=${at('tls.crt')} with endpoint ${baseUrl}. Stop with Ctrl-C.\n`);
  const stop = (): void => {
    served.close().then(() => svc.close()).then(() => store.close()).then(() => process.exit(failed ? 1 : 0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (o.exitAfterStart) return stop();
  await new Promise(() => undefined);
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole flow on this machine: the attestation service (HTTPS on 127.0.0.1, SQLite, a simulated SGX platform in the data folder) with a demo key, a simulated enclave app that attests and receives it, and the webhook\'s placement of an SGX Job; prints the steps to repeat')
    .option('--data-dir <dir>', 'data folder (created on first start)', DEMO_DATA_DIR)
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8443')
    .option('--exit-after-start', 'start, print the instructions, and stop (for scripted checks)')
    .action(demo);
}
