// Calls to the service's dashboard API (/ui/api, docs/dashboard.md §API). The session cookie goes by itself;
// writes carry the session's CSRF token in a header a cross-site page cannot set.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

let csrf = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function answer(r) {
  const body = r.status === 204 ? null : await r.json().catch(() => null);
  if (r.status === 401) {
    window.location.assign('/ui/login');
    throw new ApiError(401, body);
  }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

export async function session() {
  const s = await answer(await fetch('/ui/api/session', { headers: { accept: 'application/json' } }));
  csrf = s.csrf;
  return s;
}

export async function get(path) {
  return answer(await fetch(path, { headers: { accept: 'application/json' } }));
}

export async function send(method, path, data) {
  const headers = { accept: 'application/json' };
  if (data !== undefined) headers['content-type'] = 'application/json';
  if (csrf) headers['x-confkube-csrf'] = csrf;
  return answer(await fetch(path, { method, headers, body: data === undefined ? undefined : JSON.stringify(data) }));
}

export const fmt = {
  time: (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z'),
  bytes(n) {
    if (n === null || n === undefined) return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let v = n;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
  },
  duration(ms) {
    if (ms === null || ms === undefined) return '—';
    const sign = ms < 0 ? '-' : '';
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const hh = Math.floor(s / 3600); s -= hh * 3600;
    const mm = Math.floor(s / 60); s -= mm * 60;
    return `${sign}${d ? `${d}d ` : ''}${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  },
  short: (hex) => (hex ? `${hex.slice(0, 12)}…` : '—'),
};

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}</p>`;
}
