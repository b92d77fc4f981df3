import { toHex } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';
import { findSigstructs } from '../sgx/enclave-file.js';
import { verifySigstruct } from '../sgx/sigstruct.js';
import { ANNOTATION_MRSIGNER, ANNOTATION_SIGSTRUCT, ANNOTATION_TRUSTED_MRSIGNERS } from './names.js';

export interface SignerLookups {
  namespaceAnnotations(namespace: string): Promise<Record<string, string> | null>;
  configMapBytes(namespace: string, name: string, key: string): Promise<Uint8Array | null>;
}

export interface SignerDecision {
  denials: string[];
  warnings: string[];
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

export function parseSignerList(s: string | undefined): string[] {
  return (s ?? '')
    .split(/[\s,]+/)
    .map((x) => x.trim().toLowerCase())
    .filter((x) => x.length > 0);
}

/**
 * Signer policy: a guard against deploying the wrong enclave, not enforcement (a pod can claim anything; the
 * quote's MRSIGNER checked by attestation and key release is what a pod cannot lie about).
 * - a declared `confkube.io/mrsigner` outside the trusted list (cluster ∪ namespace) is rejected;
 * - a `confkube.io/sigstruct` ConfigMap reference must hold a SIGSTRUCT that verifies, whose MRSIGNER is the
 *   declared one and, when a list applies, a trusted one.
 * The annotations' syntax is checked always, with or without a list or the Kubernetes API (`lookups` null):
 * a malformed MRSIGNER is a mistake whatever the policy.
 */
export async function checkSigner(
  annotations: Record<string, string>,
  namespace: string,
  clusterTrusted: readonly string[],
  lookups: SignerLookups | null,
): Promise<SignerDecision> {
  const out: SignerDecision = { denials: [], warnings: [] };
  const declared = annotations[ANNOTATION_MRSIGNER]?.trim();
  const ref = annotations[ANNOTATION_SIGSTRUCT]?.trim();
  let nsTrusted: string[] = [];
  try {
    if (lookups) nsTrusted = parseSignerList((await lookups.namespaceAnnotations(namespace))?.[ANNOTATION_TRUSTED_MRSIGNERS]);
  } catch (e) {
    out.warnings.push(`namespace "${namespace}" could not be read (${(e as Error).message}): only the cluster's trusted MRSIGNERs apply`);
  }
  const trusted = new Set([...clusterTrusted.map((s) => s.toLowerCase()), ...nsTrusted]);
  if (declared !== undefined) {
    if (!HEX64.test(declared)) {
      out.denials.push(`${ANNOTATION_MRSIGNER} must be 64 hex digits (SHA-256 of the signing key's modulus), got ${JSON.stringify(declared.slice(0, 80))}`);
      return out;
    }
    if (trusted.size > 0 && !trusted.has(declared.toLowerCase())) {
      out.denials.push(`MRSIGNER ${declared.toLowerCase()} is not trusted in namespace "${namespace}" (trusted: ${[...trusted].join(', ')})`);
    }
  } else if (trusted.size > 0 && ref === undefined) {
    out.warnings.push(`namespace "${namespace}" trusts only listed MRSIGNERs, but the pod declares none (${ANNOTATION_MRSIGNER}); attestation will still check the enclave's real signer`);
  }
  if (ref !== undefined) {
    const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)\/([-._a-zA-Z0-9]+)$/.exec(ref);
    if (!m) {
      out.denials.push(`${ANNOTATION_SIGSTRUCT} must be "configmap-name/key", got ${JSON.stringify(ref.slice(0, 120))}`);
      return out;
    }
    const [, name, , key] = m;
    if (!lookups) {
      const msg = `the SIGSTRUCT in ConfigMap ${namespace}/${name} cannot be checked: the webhook runs without the Kubernetes API`;
      if (trusted.size > 0) out.denials.push(msg);
      else out.warnings.push(msg);
      return out;
    }
    let bytes: Uint8Array | null;
    try {
      bytes = await lookups.configMapBytes(namespace, name, key);
    } catch (e) {
      out.denials.push(`ConfigMap ${namespace}/${name} could not be read to check the SIGSTRUCT: ${(e as Error).message}`);
      return out;
    }
    if (!bytes) {
      out.denials.push(`ConfigMap ${namespace}/${name} has no key "${key}" (binaryData or data) holding the SIGSTRUCT`);
      return out;
    }
    let found;
    try {
      found = findSigstructs(bytes);
    } catch (e) {
      out.denials.push(`ConfigMap ${namespace}/${name} key "${key}": ${e instanceof ConfkubeError ? `${e.code}: ` : ''}${(e as Error).message}`);
      return out;
    }
    for (const f of found) {
      const v = verifySigstruct(f.sigstruct);
      const signer = toHex(f.sigstruct.mrSigner);
      if (!v.signatureValid || !v.q1q2Valid) {
        out.denials.push(`the SIGSTRUCT in ConfigMap ${namespace}/${name} key "${key}" does not verify: ${v.reason}`);
      } else if (declared !== undefined && signer !== declared.toLowerCase()) {
        out.denials.push(`the SIGSTRUCT in ConfigMap ${namespace}/${name} is signed by MRSIGNER ${signer}, the pod declares ${declared.toLowerCase()}`);
      } else if (trusted.size > 0 && !trusted.has(signer)) {
        out.denials.push(`the SIGSTRUCT in ConfigMap ${namespace}/${name} is signed by MRSIGNER ${signer}, which is not trusted in namespace "${namespace}"`);
      }
    }
    out.denials.splice(0, out.denials.length, ...new Set(out.denials));
  }
  return out;
}
