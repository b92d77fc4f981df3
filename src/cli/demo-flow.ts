import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attestationDirQuoteSource, createEnclaveClient, type ReleaseForm } from '../client/index.js';
import { toHex } from '../lib/bytes.js';
import { DEMO_ENCLAVE } from './demo-enclave.js';

/** The demo's released key: its name, and the secret the service holds for it (32 random bytes, made once). */
export const DEMO_KEY = 'demo-key';

export function demoKeySecret(dir: string): Uint8Array {
  const file = join(dir, `${DEMO_KEY}.secret`);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return new Uint8Array(readFileSync(file));
}

/**
 * The demo key's release policy (docs/keyrelease.md §Release policy): this service's tokens, the demo enclave's
 * MRSIGNER and product, not debuggable, a fresh nonce; simulated tokens allowed, as only a demo may.
 */
export function demoKeyPolicy(baseUrl: string): unknown {
  return {
    version: '1.0.0',
    anyOf: [{ authority: baseUrl, allOf: [
      { claim: 'x-ms-sgx-mrsigner', equals: toHex(DEMO_ENCLAVE.mrSigner) },
      { claim: 'x-ms-sgx-product-id', equals: DEMO_ENCLAVE.isvProdId },
      { claim: 'x-ms-sgx-is-debuggable', equals: false },
    ] }],
    confkube: { allowSimulated: true, nonce: 'required' },
  };
}

export const fingerprint = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/**
 * The simulated enclave app: `confkube/client` with its quotes from the demo's simulated attestation directory —
 * the code an app under Gramine runs, with only the directory changed (docs/enclave-apps.md §Quote sources).
 */
export async function runDemoEnclaveApp(o: { baseUrl: string; caFile: string; attestationDir: string; forms: ReleaseForm[] }): Promise<string[]> {
  const client = createEnclaveClient({ url: o.baseUrl, caFile: o.caFile, quoteSource: attestationDirQuoteSource(o.attestationDir), retry: { attempts: 2 } });
  const { claims } = await client.attest({ runtimeData: { app: 'confkube demo' } });
  const lines = [`${'attest'.padEnd(20)}token for MRENCLAVE ${String(claims['x-ms-sgx-mrenclave']).slice(0, 16)}…, TCB ${String(claims['x-ms-sgx-tcb-status'])}, "x-ms-sgx-is-simulated": ${String(claims['x-ms-sgx-is-simulated'])}`];
  for (const form of o.forms) {
    const secret = await client.releaseKey(DEMO_KEY, { form });
    lines.push(`${`release (${form})`.padEnd(20)}${DEMO_KEY}: ${secret.length} bytes, SHA-256 ${fingerprint(secret)}…, opened inside the app`);
  }
  return lines;
}

/**
 * The AKS FAQ's Job ("What if my container size is more than available EPC memory?", MicrosoftDocs/azure-docs
 * `confidential-nodes-aks-faq.yml`, CC-BY-4.0) with its `image: oeciteam/sgx-test: 1.0` typo mended, since no YAML
 * parser reads the published text.
 */
export const FAQ_JOB_YAML = `# The AKS confidential-computing FAQ's Job (MicrosoftDocs/azure-docs, CC-BY-4.0), its image typo mended.
apiVersion: batch/v1
kind: Job
metadata:
  name: sgx-test
  labels:
    app: sgx-test
spec:
  template:
    metadata:
      labels:
        app: sgx-test
    spec:
      containers:
      - name: sgxtest
        image: oeciteam/sgx-test:1.0
        resources:
          limits:
            sgx.intel.com/sgx_epc_mem_in_MiB: 10
      restartPolicy: Never
  backoffLimit: 0
`;

/** Run a confkube command line in a child process, as the user would (same node flags and entry point). */
export function runSelf(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('error', (e) => resolve({ code: null, out: e.message }));
    c.on('close', (code) => resolve({ code, out }));
  });
}
