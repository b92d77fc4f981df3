import { KeyReleaseError } from './errors.js';

/**
 * What every release demands before the key's SKR policy is even read (docs/keyrelease.md §Requirements). Azure Key Vault
 * trusts whatever the policy says; here the safe choice is the default and the operator opts out explicitly,
 * in the policy file's `confkube` section:
 * `{"version":"1.0.0","anyOf":[…],"confkube":{"allowSimulated":false,"allowDebug":false,"tcbStatuses":["UpToDate"],"maxTokenAgeSeconds":300,"nonce":"required"}}`.
 */
export interface ReleaseRequirements {
  /** Release to tokens of the simulated SGX platform (`x-ms-sgx-is-simulated: true`). Default false. */
  allowSimulated: boolean;
  /** Release to debug enclaves (`x-ms-sgx-is-debuggable: true`), whose memory the host can read. Default false. */
  allowDebug: boolean;
  /**
   * Tokens of a trusted issuer (another attestation service, docs/keyrelease.md §Trusted issuers) that carry no
   * `x-ms-sgx-tcb-status` — Azure Attestation's do not — are left to that issuer's attestation policy for the TCB.
   * Default false: such tokens are refused. This service's own tokens always carry the status and are always checked.
   */
  tcbByIssuer: boolean;
  /** The `x-ms-sgx-tcb-status` values released to. Default `["UpToDate"]`. */
  tcbStatuses: string[];
  /** A token older than this (now − `iat`) is refused. Default 300 s (tokens live 8 h). */
  maxTokenAgeSeconds: number;
  /**
   * `required`: the enclave must bind a nonce from `POST /keys/{name}/nonce` in its runtime data
   * (`x-ms-runtime.nonce`); each nonce works once, before it expires. Default `off`.
   */
  nonce: 'required' | 'off';
}

export const DEFAULT_REQUIREMENTS: Readonly<ReleaseRequirements> = { allowSimulated: false, allowDebug: false, tcbByIssuer: false, tcbStatuses: ['UpToDate'], maxTokenAgeSeconds: 300, nonce: 'off' };

const TCB_STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'];

function bad(msg: string): KeyReleaseError {
  return new KeyReleaseError(400, 'InvalidReleasePolicy', `release policy confkube section: ${msg}`);
}

export function parseRequirements(json: unknown): ReleaseRequirements {
  if (json === undefined) return { ...DEFAULT_REQUIREMENTS, tcbStatuses: [...DEFAULT_REQUIREMENTS.tcbStatuses] };
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad('not a JSON object');
  const o = json as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !['allowSimulated', 'allowDebug', 'tcbByIssuer', 'tcbStatuses', 'maxTokenAgeSeconds', 'nonce'].includes(k));
  if (unknown.length) throw bad(`unknown field ${JSON.stringify(unknown[0])}`);
  const r: ReleaseRequirements = { ...DEFAULT_REQUIREMENTS, tcbStatuses: [...DEFAULT_REQUIREMENTS.tcbStatuses] };
  if (o.allowSimulated !== undefined) {
    if (typeof o.allowSimulated !== 'boolean') throw bad('"allowSimulated" must be true or false');
    r.allowSimulated = o.allowSimulated;
  }
  if (o.allowDebug !== undefined) {
    if (typeof o.allowDebug !== 'boolean') throw bad('"allowDebug" must be true or false');
    r.allowDebug = o.allowDebug;
  }
  if (o.tcbByIssuer !== undefined) {
    if (typeof o.tcbByIssuer !== 'boolean') throw bad('"tcbByIssuer" must be true or false');
    r.tcbByIssuer = o.tcbByIssuer;
  }
  if (o.tcbStatuses !== undefined) {
    if (!Array.isArray(o.tcbStatuses) || o.tcbStatuses.length === 0) throw bad('"tcbStatuses" must be a non-empty array');
    for (const s of o.tcbStatuses) if (typeof s !== 'string' || !TCB_STATUSES.includes(s)) throw bad(`"tcbStatuses": ${JSON.stringify(s)} is not one of ${TCB_STATUSES.join(', ')}`);
    r.tcbStatuses = o.tcbStatuses as string[];
  }
  if (o.maxTokenAgeSeconds !== undefined) {
    if (typeof o.maxTokenAgeSeconds !== 'number' || !Number.isInteger(o.maxTokenAgeSeconds) || o.maxTokenAgeSeconds < 1 || o.maxTokenAgeSeconds > 28800) throw bad('"maxTokenAgeSeconds" must be an integer from 1 to 28800');
    r.maxTokenAgeSeconds = o.maxTokenAgeSeconds;
  }
  if (o.nonce !== undefined) {
    if (o.nonce !== 'required' && o.nonce !== 'off') throw bad('"nonce" must be "required" or "off"');
    r.nonce = o.nonce;
  }
  return r;
}

const denied = (msg: string): KeyReleaseError => new KeyReleaseError(403, 'ReleaseDenied', msg);

/**
 * Refuse (403) verified claims that fail the key's requirements; the nonce, if required, is checked by the caller.
 * `external`: the token is a trusted issuer's, not this service's.
 */
export function checkRequirements(r: ReleaseRequirements, claims: Record<string, unknown>, nowS: number, keyName: string, external = false): void {
  if (claims['x-ms-sgx-is-simulated'] === true && !r.allowSimulated) throw denied(`${keyName}: the token is from the simulated SGX platform and the key does not allow simulated tokens`);
  if (claims['x-ms-sgx-is-debuggable'] !== false && !r.allowDebug) throw denied(`${keyName}: debug: the enclave is debuggable (or does not say) and the key does not allow debug enclaves`);
  const tcb = claims['x-ms-sgx-tcb-status'];
  const leftToIssuer = external && r.tcbByIssuer && tcb === undefined;
  if (!leftToIssuer && (typeof tcb !== 'string' || !r.tcbStatuses.includes(tcb))) throw denied(`${keyName}: TCB status ${JSON.stringify(tcb ?? null)} is not one of ${r.tcbStatuses.join(', ')}`);
  const iat = claims.iat;
  if (typeof iat !== 'number') throw denied(`${keyName}: the token has no iat`);
  if (nowS - iat > r.maxTokenAgeSeconds) throw denied(`${keyName}: the token was issued ${nowS - iat} s ago, more than ${r.maxTokenAgeSeconds} s`);
}
