export * from './names.js';
export { ReviewError, WebhookConfigError } from './errors.js';
export { planPod, formatBytes, type PatchOp, type PodPlan, type MutateOptions, type Toleration } from './mutate.js';
export { reviewRequest, reviewWithFacts, parseReview, type ReviewFacts, type AdmissionReviewOut, type AdmissionResponse, type ClusterView, type ReviewOptions, type ReviewMode } from './review.js';
export { checkSigner, parseSignerList } from './signer-policy.js';
export { KubeCluster, type KubeClusterOptions } from './cluster.js';
export { WebhookMetrics, type Decision } from './metrics.js';
export { createWebhookServer, type WebhookServerOptions } from './server.js';
export { POD_SPEC_PATHS } from './pod-spec.js';
export { applyJsonPatch, type JsonPatchOp } from './json-patch.js';
export {
  ATTESTATION_CA_DIR, ATTESTATION_CA_ENV, ATTESTATION_CA_FILE, ATTESTATION_CA_KEY, ATTESTATION_CA_VOLUME, ATTESTATION_URL_ENV, DEFAULT_ATTESTATION_CA_CONFIGMAP,
  injectsInto, planAttestationEnv, type AttestationInjection,
} from './attestation-env.js';
export { CaConfigMapPublisher, readCaBundle, type CaPublisherOptions, type PublishOutcome } from './ca-publisher.js';
