// The cluster's EPC (nodes, pools, Pending pods) and the capacity planner (docs/planner.md).
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, fmt, get, html, send } from './api.js';

function Bar({ capacity, requested, used }) {
  const pct = (v) => `${Math.min(100, capacity > 0 ? (v / capacity) * 100 : 0).toFixed(1)}%`;
  return html`<div class="bar" title=${`requested ${fmt.bytes(requested)}, used ${fmt.bytes(used)} of ${fmt.bytes(capacity)}`}>
    <div class="requested" style=${{ width: pct(requested) }}></div>
    ${used !== null && html`<div class="used" style=${{ width: pct(used) }}></div>`}
  </div>`;
}

export function ClusterPage() {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { get('/ui/api/cluster').then(setData, setError); }, []);
  if (!data) return html`<${ErrorBox} error=${error} />`;
  if (!data.connected) return html`<p data-testid="cluster-off">This service is not connected to a cluster (confkube serve --dashboard-cluster).</p>`;
  return html`
    <p class="muted">Read ${fmt.time(data.readAt)}. Requested is what scheduled pods ask for; used is what the node agents report.</p>
    <h2>Pools</h2>
    <table data-testid="pools"><thead><tr><th>pool</th><th>nodes</th><th>EPC capacity</th><th>requested</th><th>used</th><th></th><th>Pending (EPC short)</th></tr></thead>
      <tbody>${data.pools.map((p) => html`<tr><td>${p.pool}</td><td>${p.nodes}</td><td>${fmt.bytes(p.allocatableBytes)}</td><td>${fmt.bytes(p.requestedBytes)}</td>
        <td>${fmt.bytes(p.usedBytes)}</td><td><${Bar} capacity=${p.allocatableBytes} requested=${p.requestedBytes} used=${p.usedBytes} /></td><td>${p.pendingRequestingEpc} (${p.pendingInsufficientEpc})</td></tr>`)}</tbody></table>
    <h2>Nodes</h2>
    <table data-testid="nodes"><thead><tr><th>node</th><th>pool</th><th>EPC capacity</th><th>requested</th><th>used</th><th></th><th>pods</th></tr></thead>
      <tbody>${data.nodes.map((n) => html`<tr><td>${n.name}</td><td>${n.pool}</td><td>${fmt.bytes(n.capacityBytes)}</td><td>${fmt.bytes(n.requestedBytes)}</td>
        <td>${fmt.bytes(n.usedBytes)}</td><td><${Bar} capacity=${n.capacityBytes} requested=${n.requestedBytes} used=${n.usedBytes} /></td><td>${n.pods}</td></tr>`)}</tbody></table>
    <h2>Pending pods</h2>
    ${data.pending.length === 0 ? html`<p>None.</p>` : html`<table data-testid="pending"><thead><tr><th>pod</th><th>EPC request</th><th>scheduler</th></tr></thead>
      <tbody>${data.pending.map((p) => html`<tr class=${p.insufficientEpc ? 'deny' : ''}><td>${p.namespace}/${p.name}</td><td>${fmt.bytes(p.epcRequestBytes)}</td><td>${p.message || '(not yet considered)'}</td></tr>`)}</tbody></table>`}`;
}

const SAMPLE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: enclave-app, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: enclave-app}}
  template:
    metadata: {labels: {app: enclave-app}}
    spec:
      containers:
      - name: app
        image: example/enclave-app:1
        resources:
          limits: {sgx.intel.com/epc: 64Mi}
          requests: {cpu: 500m, memory: 512Mi}
`;

export function PlannerPage() {
  const [catalogue, setCatalogue] = useState(null);
  const [manifests, setManifests] = useState(SAMPLE);
  const [pools, setPools] = useState([{ vmSize: 'Standard_DC2s_v3', count: 2 }]);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [connected, setConnected] = useState(false);
  const [useCluster, setUseCluster] = useState(false);
  useEffect(() => {
    get('/ui/api/plan/catalogue').then(setCatalogue, setError);
    get('/ui/api/cluster').then((c) => setConnected(c.connected), () => undefined);
  }, []);
  const setPool = (i, patch) => setPools(pools.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  async function plan() {
    setError(null);
    try {
      setResult(await send('POST', '/ui/api/plan', { manifests, pools: pools.filter((p) => p.count > 0), cluster: useCluster }));
    } catch (e) {
      setResult(null);
      setError(e);
    }
  }
  return html`
    <p class="muted">Manifests (YAML or JSON, any workload kind) placed with the scheduler's rules onto pools of catalogue VM sizes${catalogue ? ` (${catalogue.source})` : ''}.</p>
    <textarea class="manifests" data-testid="plan-manifests" spellcheck="false" rows="14" value=${manifests} onInput=${(e) => setManifests(e.target.value)}></textarea>
    <div class="pools">
      ${pools.map((p, i) => html`<div class="pool-row">
        <select data-testid=${`plan-size-${i}`} value=${p.vmSize} onChange=${(e) => setPool(i, { vmSize: e.target.value })}>
          ${(catalogue?.sizes ?? [{ name: p.vmSize }]).map((s) => html`<option value=${s.name}>${s.name}${s.epcBytes !== undefined ? ` — EPC ${fmt.bytes(s.epcBytes)}, ${s.vCpus} vCPU` : ''}</option>`)}
        </select>
        × <input type="number" min="0" max="1000" value=${p.count} data-testid=${`plan-count-${i}`} onInput=${(e) => setPool(i, { count: Number(e.target.value) })} />
        <button type="button" onClick=${() => setPools(pools.filter((_, j) => j !== i))}>Remove</button>
      </div>`)}
      <button type="button" onClick=${() => setPools([...pools, { vmSize: pools[0]?.vmSize ?? 'Standard_DC2s_v3', count: 1 }])}>Add pool</button>
    </div>
    ${connected && html`<label><input type="checkbox" data-testid="plan-cluster" checked=${useCluster} onChange=${(e) => setUseCluster(e.target.checked)} />
      also the cluster's nodes (with what their pods request) and its Pending pods</label>`}
    <button type="button" data-testid="plan-run" onClick=${plan}>Plan</button>
    <${ErrorBox} error=${error} />
    ${result && html`<${PlanView} r=${result} />`}`;
}

function PlanView({ r }) {
  return html`<div data-testid="plan-result">
    ${r.warnings.length > 0 && html`<ul class="warnings">${r.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
    <h2>Placement</h2>
    <table data-testid="plan-placements"><thead><tr><th>pod</th><th>workload</th><th>node</th><th>EPC</th></tr></thead>
      <tbody>${r.placements.map((p) => html`<tr><td>${p.pod}</td><td>${p.workload}</td><td>${p.node}</td><td>${fmt.bytes(p.epcBytes)}</td></tr>`)}</tbody></table>
    <h2>EPC headroom per node</h2>
    <table data-testid="plan-nodes"><thead><tr><th>node</th><th>pool</th><th>size</th><th>EPC capacity</th><th>requested</th><th>headroom</th></tr></thead>
      <tbody>${r.nodes.map((n) => html`<tr><td>${n.name}</td><td>${n.pool ?? ''}</td><td>${n.vmSize ?? ''}</td><td>${fmt.bytes(n.epc.capacity)}</td><td>${fmt.bytes(n.epc.requested)}</td><td>${fmt.bytes(n.epc.headroom)}</td></tr>`)}</tbody></table>
    <h2>Unschedulable</h2>
    ${r.unschedulable.length === 0 ? html`<p data-testid="plan-all-fit">Every pod fits.</p>` : html`<table data-testid="plan-unschedulable"><thead><tr><th>pod</th><th>EPC</th><th>reason</th></tr></thead>
      <tbody>${r.unschedulable.map((u) => html`<tr class="deny"><td>${u.pod}</td><td>${fmt.bytes(u.epcBytes)}</td><td>${u.reason}</td></tr>`)}</tbody></table>`}
    ${r.recommendation && html`<h2>Cheapest pools that fit</h2>
      <p>${r.recommendation.fits ? 'All pods fit on:' : 'Not every pod fits any size:'} ${r.recommendation.pools.map((p) => `${p.count} × ${p.vmSize} (${p.name})`).join(', ') || 'no new pool needed'}</p>
      ${r.recommendation.commands.length > 0 && html`<pre data-testid="plan-commands">${r.recommendation.commands.join('\n')}</pre>`}
      ${r.recommendation.unfit.map((u) => html`<p class="error">${u.pod}: ${u.reason}</p>`)}`}
  </div>`;
}
