export * from './names.js';
export { ReviewError, WebhookConfigError } from './errors.js';
export { planPod, formatBytes, type PatchOp, type PodPlan, type MutateOptions, type Toleration } from './mutate.js';
export { reviewRequest, parseReview, type AdmissionReviewOut, type AdmissionResponse, type ClusterView, type ReviewOptions, type ReviewMode } from './review.js';
export { checkSigner, parseSignerList } from './signer-policy.js';
export { KubeCluster } from './cluster.js';
export { createWebhookServer, type WebhookServerOptions } from './server.js';
export { POD_SPEC_PATHS } from './pod-spec.js';
export { applyJsonPatch, type JsonPatchOp } from './json-patch.js';
