// The trust pages: attestations over time, advisories across the fleet, collateral freshness, key releases.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ErrorBox, fmt, get, html } from './api.js';
import { Plot, toSeries } from './plot.js';

const RANGES = [['1h', 3_600_000], ['24h', 86_400_000], ['7d', 7 * 86_400_000], ['30d', 30 * 86_400_000]];

/** Loads PATH (again when `deps` change or `reload` is called); the last good answer stays while a new one loads. */
function useApi(path, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    get(path).then((data) => live && setState({ data, error: null }), (error) => live && setState((s) => ({ data: s.data, error })));
    return () => { live = false; };
  }, [path, tick, ...deps]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function AttestationsPage() {
  const [range, setRange] = useState(86_400_000);
  const [now, setNow] = useState(Date.now());
  const path = `/ui/api/attestations?from=${now - range}&to=${now}`;
  const { data, error } = useApi(path);
  // Ranges up to a day refresh by themselves; longer ones read many more index entries (docs/dashboard.md
  // §Aggregation) and refresh when asked.
  useEffect(() => {
    if (range > 86_400_000) return undefined;
    const t = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(t);
  }, [range]);
  const byDecision = useMemo(() => data && toSeries(data, (r) => r.decision), [data]);
  const byStatus = useMemo(() => data && toSeries(data, (r) => r.tcbStatus ?? '(none)'), [data]);
  return html`
    <div class="toolbar">
      ${RANGES.map(([label, ms]) => html`<button type="button" class=${ms === range ? 'active' : ''} onClick=${() => { setRange(ms); setNow(Date.now()); }}>${label}</button>`)}
      <button type="button" data-testid="refresh" onClick=${() => setNow(Date.now())}>Refresh</button>
    </div>
    <${ErrorBox} error=${error} />
    ${data && html`
      <p class="totals" data-testid="totals">
        <span>permit <b data-testid="total-permit">${data.totals.permit}</b></span>
        <span>deny <b data-testid="total-deny">${data.totals.deny}</b></span>
        <span>error <b data-testid="total-error">${data.totals.error}</b></span>
        <span class="muted">buckets of ${fmt.duration(data.bucketMs)}, ${fmt.time(data.from)} – ${fmt.time(data.to)}</span>
      </p>
      <${Plot} title="By decision" testid="plot-decision" x=${byDecision.x} series=${byDecision.series} />
      <${Plot} title="By TCB status" testid="plot-tcb" x=${byStatus.x} series=${byStatus.series} />`}
    <h2>Latest</h2>
    <${AuditTable} kind="attestation" refresh=${now} />`;
}

/** Audit records newest first, a page at a time (keyset paging: the server never counts the table). */
export function AuditTable({ kind, refresh }) {
  const [cursors, setCursors] = useState([null]);
  const before = cursors[cursors.length - 1];
  const { data, error } = useApi(`/ui/api/audit?kind=${kind}&limit=25${before ? `&before=${before}` : ''}`, [refresh]);
  const keyRelease = kind === 'keyrelease';
  return html`
    <${ErrorBox} error=${error} />
    <table data-testid=${`audit-${kind}`}>
      <thead><tr><th>time</th><th>${keyRelease ? 'key' : 'type'}</th><th>decision</th><th>TCB status</th><th>MRENCLAVE</th><th>MRSIGNER</th><th>client</th><th>reason</th></tr></thead>
      <tbody>${(data?.records ?? []).map((r) => html`<tr class=${r.decision}>
        <td>${fmt.time(r.time)}</td><td>${keyRelease ? r.attestationType.slice('keyrelease/'.length) : r.attestationType}</td><td>${r.decision}${r.simulated ? ' (sim)' : ''}</td>
        <td>${r.tcbStatus ?? '—'}</td><td title=${r.mrEnclave ?? ''}>${fmt.short(r.mrEnclave)}</td><td title=${r.mrSigner ?? ''}>${fmt.short(r.mrSigner)}</td>
        <td>${r.clientAddress}</td><td>${r.reason ?? ''}</td></tr>`)}</tbody>
    </table>
    <div class="pager">
      <button type="button" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Newer</button>
      <button type="button" disabled=${!data?.next} onClick=${() => setCursors([...cursors, data.next])}>Older</button>
    </div>`;
}

export function KeyReleasesPage() {
  return html`<p class="muted">Every secure key release request, granted or refused, from the audit log.</p><${AuditTable} kind="keyrelease" />`;
}

export function AdvisoriesPage() {
  const { data, error } = useApi('/ui/api/advisories');
  return html`
    <p class="muted">Intel security advisories named by the verdicts of the last 30 days' attestations (platform and QE TCB levels).</p>
    <${ErrorBox} error=${error} />
    ${data && (data.advisories.length === 0 ? html`<p>No attestation named an advisory.</p>` : html`
      <table data-testid="advisories">
        <thead><tr><th>advisory</th><th>attestations</th><th>enclaves</th><th>last seen</th></tr></thead>
        <tbody>${data.advisories.map((a) => html`<tr>
          <td>${a.url ? html`<a href=${a.url} target="_blank" rel="noopener noreferrer">${a.id}</a>` : a.id}</td>
          <td>${a.attestations}</td><td>${a.enclaves}</td><td>${fmt.time(a.lastSeen)}</td></tr>`)}</tbody>
      </table>`)}`;
}

export function CollateralPage() {
  const { data, error } = useApi('/ui/api/collateral');
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  // The countdown runs on the browser's clock from the server's answer, so it keeps moving between loads.
  const skew = data ? data.now - now : 0;
  return html`
    <${ErrorBox} error=${error} />
    ${data && html`<table data-testid="collateral">
      <thead><tr><th>collateral</th><th>fetched</th><th>next update</th><th>expires in</th><th>state</th></tr></thead>
      <tbody>${data.items.map((c) => {
        const left = c.nextUpdate === null ? null : c.nextUpdate - (now + skew);
        const state = left === null ? 'unknown' : left <= 0 ? 'expired' : c.state === 'expired' ? 'expiring' : c.state;
        return html`<tr class=${state}><td>${c.key}</td><td>${fmt.time(c.fetchedAt)}</td><td>${fmt.time(c.nextUpdate)}</td>
          <td class="countdown">${left === null ? '—' : left <= 0 ? `expired ${fmt.duration(-left)} ago` : fmt.duration(left)}</td><td><span class=${`badge ${state}`}>${state}</span></td></tr>`;
      })}</tbody>
    </table>`}`;
}
