// An in-memory store for tests and benchmarks: the part of src/store's Store the attestation service uses, nothing durable.
import type { AttestationStore, AuditRecord, CollateralRecord, PolicyCertRecord, PolicyRecord, SigningKeyRecord } from '../src/attestation/index.js';

export class MemoryStore implements AttestationStore {
  readonly kind = 'memory';
  keys: SigningKeyRecord[] = [];
  policies = new Map<string, PolicyRecord[]>();
  certs: PolicyCertRecord[] = [];
  collateral = new Map<string, CollateralRecord>();
  audit: AuditRecord[] = [];
  private pv = 0;
  async migrate(): Promise<void> {}
  async listSigningKeys() { return this.keys.map((k) => ({ ...k })); }
  async addSigningKey(k: SigningKeyRecord) { this.keys.push({ ...k }); }
  async addFirstSigningKey(k: SigningKeyRecord) {
    if (this.keys.some((x) => x.retiredAt === null)) return false;
    this.keys.push({ ...k });
    return true;
  }
  async retireSigningKey(kid: string, at: number) { for (const k of this.keys) if (k.kid === kid) k.retiredAt = at; }
  async resealSigningKey(kid: string, from: string, to: string) {
    const k = this.keys.find((x) => x.kid === kid && x.sealedPrivateKey === from);
    if (k) k.sealedPrivateKey = to;
    return k !== undefined;
  }
  settings = new Map<string, string>();
  async getSetting(name: string) { return this.settings.get(name) ?? null; }
  async putSetting(name: string, value: string) { this.settings.set(name, value); }
  async hasSimulatedAudit() { return this.audit.some((r) => r.simulated); }
  async getPolicy(t: string) { const h = this.policies.get(t); const last = h?.[h.length - 1]; return last && last.text !== '' ? last : null; }
  async setPolicy(p: Omit<PolicyRecord, 'version'>) {
    const h = this.policies.get(p.attestationType) ?? [];
    const rec = { ...p, version: h.length + 1 };
    h.push(rec);
    this.policies.set(p.attestationType, h);
    this.pv++;
    return rec;
  }
  async resetPolicy(t: string, setBy: string) {
    const h = this.policies.get(t) ?? [];
    h.push({ attestationType: t, text: '', jws: '', hash: '', version: h.length + 1, setAt: Date.now(), setBy });
    this.policies.set(t, h);
    this.pv++;
  }
  async policyHistory(t: string) { return [...(this.policies.get(t) ?? [])].reverse(); }
  async policyVersion() { return this.pv; }
  async listPolicyCertificates() { return [...this.certs]; }
  async addPolicyCertificate(c: PolicyCertRecord) { this.certs.push(c); this.pv++; }
  async removePolicyCertificate(tp: string) { const n = this.certs.length; this.certs = this.certs.filter((c) => c.thumbprint !== tp); this.pv++; return n !== this.certs.length; }
  async getCollateral(key: string) { return this.collateral.get(key) ?? null; }
  async putCollateral(c: CollateralRecord) { this.collateral.set(c.key, c); }
  async listCollateral() { return [...this.collateral.values()]; }
  async appendAudit(r: AuditRecord) { this.audit.push({ ...r, id: this.audit.length + 1 }); return this.audit.length; }
  async queryAudit(q: { since?: number; limit?: number; tokenId?: string } = {}) {
    return this.audit.filter((r) => (q.tokenId === undefined || r.tokenId === q.tokenId) && (q.since === undefined || r.time >= q.since)).slice(0, q.limit ?? Infinity);
  }
  async close() {}
}
