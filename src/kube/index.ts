/** What the node agent and the webhook share: resource names, quantities, API access, informers, TLS reload. */
export { Backoff, sleep, type BackoffOptions } from './backoff.js';
export { CertWatcher, loadTlsPair, type CertWatcherOptions, type TlsPair } from './cert-watcher.js';
export { describeKubeError, loadKubeConfig } from './client.js';
export { QuantityError, TlsFilesError } from './errors.js';
export { Informer, type DependencyHealth, type InformerOptions, type ListPage } from './informer.js';
export * from './names.js';
export { containerEpcBytes, effectiveRequest, isActivePod, podEpcRequestBytes, type ContainerAmount, type ContainerLike, type PodLike } from './pod-requests.js';
export { parseQuantity, quantityToBytes } from './quantity.js';
