import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Running } from '../../../support/attestation-service.js';

export * from '../../../support/attestation-service.js';

/**
 * Run the real `@azure/attestation` client (helpers/azure-client.ts) in a child process that trusts the test
 * CA through NODE_EXTRA_CA_CERTS; async, because the service answers from this same event loop.
 */
export async function runAzureClient(r: Running, steps: object[]): Promise<any[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./azure-client.ts', import.meta.url)), r.url, JSON.stringify(steps)], {
    cwd: fileURLToPath(new URL('../../../', import.meta.url)), env: { ...process.env, NODE_EXTRA_CA_CERTS: r.caFile }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`@azure/attestation client exited ${code}: ${err}`);
  return JSON.parse(out);
}
