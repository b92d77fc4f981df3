// confkube/client: the enclave app's side of attestation and secure key release (docs/enclave-apps.md).
// Node's own modules only: an enclave image carries as little code as it can.
export { EnclaveClient, createEnclaveClient, reportDataFor, ENV_URL, ENV_CA, ENV_DIR, type EnclaveClientOptions, type AttestResult, type ReleaseOptions, type ReleaseForm } from './client.js';
export { assertQuoteFor, attestationDirQuoteSource, functionQuoteSource, reportDataOf, GRAMINE_ATTESTATION_DIR, REPORT_DATA_SIZE, type QuoteSource, type QuoteFunction, type AttestationDirOptions } from './quote-source.js';
export { openJwe, type OpenedJwe } from './jwe.js';
export { ClientError, type ClientErrorCode } from './errors.js';
export type { RetryOptions } from './http.js';
