// An enclave app that gets its secret from the confkube attestation service (docs/enclave-apps.md).
// The same code runs on SGX hardware under Gramine (quotes from /dev/attestation) and on the simulated platform
// (CONFKUBE_ATTESTATION_DIR names a directory served by `confkube sim attestation-dir`): only the environment differs.
//
//   node app.mjs [--once]
//
// Environment: CONFKUBE_ATTESTATION_URL, CONFKUBE_ATTESTATION_CA (given to SGX pods by the confkube webhook),
// KEY_NAME (default demo-key), RELEASE_FORM (challenge or token; default challenge), PORT (default 8080).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { ClientError, createEnclaveClient } from 'confkube/client';

const keyName = process.env.KEY_NAME || 'demo-key';
const form = process.env.RELEASE_FORM || 'challenge';

async function main() {
  const client = createEnclaveClient();
  const { claims } = await client.attest({ runtimeData: { app: 'enclave-app' } });
  const simulated = claims['x-ms-sgx-is-simulated'] === true;
  console.log(`attested at ${client.baseUrl}: MRENCLAVE ${claims['x-ms-sgx-mrenclave']}, TCB ${claims['x-ms-sgx-tcb-status']}${simulated ? ', SIMULATED platform ("x-ms-sgx-is-simulated": true)' : ''}`);

  // The secret is opened here, in the enclave's memory; it is never logged, written or sent anywhere.
  const secret = await client.releaseKey(keyName, { form });
  const fingerprint = createHash('sha256').update(secret).digest('hex').slice(0, 16);
  console.log(`received ${keyName} (${form} form): ${secret.length} bytes, SHA-256 ${fingerprint}…`);
  if (process.argv.includes('--once')) return;

  // A real app would open its database or decrypt its data with the secret; this one only says it has it.
  const port = Number(process.env.PORT || 8080);
  createServer((req, res) => {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? `ok: ${keyName} held in the enclave\n` : 'not found\n');
  }).listen(port, () => console.log(`serving /healthz on :${port}`));
}

main().catch((e) => {
  if (e instanceof ClientError) {
    console.error(`enclave-app: ${e.code}: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
