import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { describeKubeError } from '../kube/client.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { ATTESTATION_CA_KEY } from './attestation-env.js';
import { WebhookConfigError } from './errors.js';

export interface CaPublisherOptions {
  kubeConfig: KubeConfig;
  /** PEM file with the CA that signs the attestation service's certificate (the chart mounts the service's ca.crt). */
  caFile: string;
  /** ConfigMap name, the same in every namespace. */
  configMap: string;
  namespaces: readonly string[];
  /** Time between two passes (ms); a pass also runs at start. */
  intervalMs?: number;
  logger?: Logger;
}

export type PublishOutcome = 'created' | 'updated' | 'unchanged' | 'failed';

const LABELS = { 'app.kubernetes.io/part-of': 'confkube', 'app.kubernetes.io/component': 'attestation-ca' };

/**
 * The CA of the attestation service as a PEM file: one or more certificates and nothing else (a private key
 * or a truncated file is refused, never published).
 */
export function readCaBundle(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new WebhookConfigError(`attestation CA ${file}: ${(e as Error).message}`);
  }
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  if (blocks.length === 0) throw new WebhookConfigError(`attestation CA ${file}: no PEM block`);
  for (const [pem, label] of blocks) {
    if (label !== 'CERTIFICATE') throw new WebhookConfigError(`attestation CA ${file}: a ${label} block, expected certificates only`);
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw new WebhookConfigError(`attestation CA ${file}: a certificate does not parse (${(e as Error).message})`);
    }
  }
  return blocks.map((b) => b[0]).join('\n') + '\n';
}

/**
 * Keeps a ConfigMap with the attestation service's CA (`ca.crt`) in each listed namespace, where the webhook
 * mounts it into enclave pods (docs/enclave-pods.md §Finding the service). Each pass reads the CA file again, so
 * a renewed CA reaches the namespaces within one interval. Several webhook replicas may run it at once: a
 * creation or update that loses the race is left to the next pass.
 */
export class CaConfigMapPublisher {
  private readonly api: CoreV1Api;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Map<string, PublishOutcome>> | null = null;

  constructor(private readonly opts: CaPublisherOptions) {
    if (opts.namespaces.length === 0 || opts.namespaces.includes('*')) {
      throw new WebhookConfigError('the attestation CA is published into listed namespaces only (not "*"): give each namespace');
    }
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.log = (opts.logger ?? silentLogger).child({ component: 'attestation-ca' });
  }

  /** One pass over every namespace; a failure in one does not stop the others. */
  sync(): Promise<Map<string, PublishOutcome>> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  start(): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pass(): Promise<Map<string, PublishOutcome>> {
    const out = new Map<string, PublishOutcome>();
    let pem: string;
    try {
      pem = readCaBundle(this.opts.caFile);
    } catch (e) {
      this.log.error('attestation CA not published', { error: (e as Error).message });
      for (const ns of this.opts.namespaces) out.set(ns, 'failed');
      return out;
    }
    for (const namespace of this.opts.namespaces) {
      try {
        out.set(namespace, await this.publish(namespace, pem));
      } catch (e) {
        this.log.warn('attestation CA not published', { namespace, configMap: this.opts.configMap, error: describeKubeError(e) });
        out.set(namespace, 'failed');
      }
    }
    return out;
  }

  private async publish(namespace: string, pem: string): Promise<PublishOutcome> {
    const name = this.opts.configMap;
    let current: V1ConfigMap | null = null;
    try {
      current = await this.api.readNamespacedConfigMap({ name, namespace });
    } catch (e) {
      if ((e as { code?: unknown }).code !== 404) throw e;
    }
    if (!current) {
      await this.api.createNamespacedConfigMap({ namespace, body: { metadata: { name, namespace, labels: LABELS }, data: { [ATTESTATION_CA_KEY]: pem } } });
      this.log.info('attestation CA published', { namespace, configMap: name });
      return 'created';
    }
    if (current.data?.[ATTESTATION_CA_KEY] === pem) return 'unchanged';
    // resourceVersion makes the replace conditional: a concurrent writer's change is not overwritten blindly.
    const body: V1ConfigMap = { ...current, data: { ...(current.data ?? {}), [ATTESTATION_CA_KEY]: pem } };
    await this.api.replaceNamespacedConfigMap({ name, namespace, body });
    this.log.info('attestation CA updated', { namespace, configMap: name });
    return 'updated';
  }
}
