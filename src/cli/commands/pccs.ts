import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError, printJson, readInputFile } from '../util.js';
import { pemDecode } from '../../lib/pem.js';
import type { AttestationStore, CollateralRecord } from '../../attestation/deps.js';

type CollateralStore = Pick<AttestationStore, 'getCollateral' | 'putCollateral' | 'listCollateral'>;

/** A collateral-only store in memory: `pccs fetch` builds its cache file through the service's own checks. */
function memoryStore(): CollateralStore {
  const m = new Map<string, CollateralRecord>();
  return {
    getCollateral: async (k) => m.get(k) ?? null,
    putCollateral: async (r) => {
      m.set(r.key, r);
    },
    listCollateral: async () => [...m.values()],
  };
}

function apiKeyFrom(o: { apiKey?: string; apiKeyFile?: string }): string | undefined {
  if (o.apiKey) process.stderr.write('confkube: WARNING: --api-key puts the key in the process list (/proc/PID/cmdline); prefer --api-key-file or CONFKUBE_PCS_API_KEY\n');
  return o.apiKey ?? (o.apiKeyFile ? Buffer.from(readInputFile(o.apiKeyFile, 'API key file')).toString('utf8').trim() : process.env.CONFKUBE_PCS_API_KEY || undefined);
}

function anchorsFrom(path: string | undefined): Uint8Array[] | undefined {
  if (!path) return undefined;
  const data = readInputFile(path, 'trust anchor');
  const text = Buffer.from(data).toString('latin1');
  return text.includes('-----BEGIN CERTIFICATE-----') ? pemDecode(text) : [data];
}

async function pckServiceOver(store: CollateralStore, trustAnchor: string | undefined) {
  const { PckService } = await import('../../pccs/pck-service.js');
  const { intelSgxRootCaDer } = await import('../../dcap/intel-root.js');
  return new PckService(store, { mode: 'OFFLINE', now: Date.now, intelAnchors: anchorsFrom(trustAnchor) ?? [intelSgxRootCaDer()] });
}

/**
 * `confkube pccs fetch|import|export` (docs/pccs.md §Air-gapped clusters): on a connected machine, fetch from Intel
 * PCS what a list of platforms needs; in the air-gapped cluster, import it into the service's store; export what the
 * store holds (and the registrations it still needs fetched).
 */
export function register(program: Command): void {
  const pccs = program.command('pccs').description('PCK certificates for quote generation: fetch from Intel PCS, import into and export from the service store');

  pccs
    .command('fetch')
    .description('on a connected machine: fetch PCK certificates and collateral for the platforms of a PCKIDRetrievalTool CSV (or an exported cache file) into a cache file')
    .argument('<input>', 'PCKIDRetrievalTool CSV, or a cache file from `pccs export` (its platforms)')
    .requiredOption('-o, --output <file>', 'cache file to write')
    .option('--pcs-url <url>', 'Intel PCS v4 base URL', 'https://api.trustedservices.intel.com')
    .option('--api-key-file <file>', 'file holding the Intel PCS API key (or env CONFKUBE_PCS_API_KEY)')
    .option('--api-key <key>', 'the Intel PCS API key on the command line (visible in the process list)')
    .option('--trust-anchor <cert>', 'root the PCK certificates must chain to (default: Intel SGX Root CA)')
    .option('--ca <cert>', 'trust this CA (PEM) for the PCS URL\'s TLS')
    .action(async (input: string, o: { output: string; pcsUrl: string; apiKeyFile?: string; apiKey?: string; trustAnchor?: string; ca?: string }) => {
      const { parseCacheInput, exportCache } = await import('../../pccs/cache-file.js');
      const { PcsSource } = await import('../../pccs/pcs-source.js');
      const { fetchTrusting } = await import('../../pccs/https-fetch.js');
      const { fetchPcsCollateral } = await import('../../attestation/pcs-client.js');
      const file = parseCacheInput(Buffer.from(readInputFile(input, 'platform list')).toString('utf8'), input);
      if (file.platforms.length === 0) throw new UsageError(`${input}: no platforms to fetch`);
      const fetcher = fetchTrusting(o.ca ? Buffer.from(readInputFile(o.ca, 'CA certificate')) : undefined);
      const source = new PcsSource(o.pcsUrl, apiKeyFrom(o), 30_000, fetcher);
      const store = memoryStore();
      const pck = await pckServiceOver(store, o.trustAnchor);
      const fmspcs = new Set<string>();
      for (const p of file.platforms) {
        const answer = await source.pckCerts(p);
        await pck.put(p, answer, false);
        fmspcs.add(answer.fmspc.toLowerCase());
      }
      for (const fmspc of fmspcs) for (const r of await fetchPcsCollateral(o.pcsUrl, fmspc, Date.now(), 30_000, fetcher)) await store.putCollateral(r);
      const out = await exportCache(pck, store);
      writeFileSync(o.output, JSON.stringify(out, null, 1) + '\n');
      process.stdout.write(`${out.pck_certs.length} platform(s), ${fmspcs.size} FMSPC(s) fetched from ${o.pcsUrl} into ${o.output}\n`);
    });

  pccs
    .command('import')
    .description('import a cache file (from `pccs fetch` or `pccs export`) or a PCKIDRetrievalTool CSV (registrations) into the service store')
    .argument('<file>', 'cache file or CSV')
    .option('--store <url>', 'the service store: sqlite:/path/file.db or postgres://… (env CONFKUBE_STORE)', process.env.CONFKUBE_STORE)
    .option('--trust-anchor <cert>', 'root the PCK certificates must chain to (default: Intel SGX Root CA)')
    .option('--json', 'print what was imported as JSON')
    .action(async (path: string, o: { store?: string; trustAnchor?: string; json?: boolean }) => {
      const { requireStore } = await import('./service.js');
      const { openServiceStore } = await import('../service-runtime.js');
      const { parseCacheInput, importCache } = await import('../../pccs/cache-file.js');
      const file = parseCacheInput(Buffer.from(readInputFile(path, 'cache file')).toString('utf8'), path);
      const store = await openServiceStore(requireStore(o.store));
      try {
        const summary = await importCache(await pckServiceOver(store, o.trustAnchor), store, file, path);
        if (o.json) printJson(summary);
        else process.stdout.write(`imported ${summary.pckCerts} platform(s) with PCK certificates, ${summary.collateral} collateral record(s), ${summary.platforms} registration(s)\n`);
      } finally {
        await store.close();
      }
    });

  pccs
    .command('export')
    .description('write the store\'s PCK certificates, collateral and not-yet-fetched registrations as a cache file')
    .option('--store <url>', 'the service store (env CONFKUBE_STORE)', process.env.CONFKUBE_STORE)
    .option('-o, --output <file>', 'file to write (default: stdout)')
    .action(async (o: { store?: string; output?: string }) => {
      const { requireStore } = await import('./service.js');
      const { openServiceStore } = await import('../service-runtime.js');
      const { exportCache } = await import('../../pccs/cache-file.js');
      const store = await openServiceStore(requireStore(o.store));
      try {
        const text = JSON.stringify(await exportCache(await pckServiceOver(store, undefined), store), null, 1) + '\n';
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
      } finally {
        await store.close();
      }
    });
}
