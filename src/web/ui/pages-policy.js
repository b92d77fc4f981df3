// Policies: the one in force per attestation type, its history (hash, who, when), and the editor for admins.
// A policy the service refuses is marked where the policy language says the error is (line and column).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox, fmt, get, html, send } from './api.js';

/** The offending line with a caret under the column, as a compiler prints it. */
function Excerpt({ text, line, column }) {
  const src = text.split('\n')[line - 1] ?? '';
  return html`<pre class="excerpt" data-testid="policy-error-excerpt">${`${String(line).padStart(4)} | ${src}\n     | ${' '.repeat(Math.max(0, column - 1))}^`}</pre>`;
}

/** The textarea offset of LINE:COLUMN (1-based, columns in UTF-16 units as src/policy counts them). */
function offsetOf(text, line, column) {
  const lines = text.split('\n');
  let at = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) at += lines[i].length + 1;
  return Math.min(text.length, at + column - 1);
}

function Editor({ type, current, canEdit, onSaved }) {
  const [text, setText] = useState(current.text);
  const [problem, setProblem] = useState(null);
  const [saved, setSaved] = useState(null);
  const area = useRef(null);
  useEffect(() => setText(current.text), [current.hash]);
  async function save() {
    setProblem(null);
    setSaved(null);
    try {
      const r = await send('PUT', `/ui/api/policies/${type}`, { text });
      setSaved(r);
      onSaved();
    } catch (e) {
      const err = e.body?.error;
      setProblem({ message: e.message, line: err?.line, column: err?.column, text });
      if (err?.line && area.current) {
        const at = offsetOf(text, err.line, err.column);
        area.current.focus();
        area.current.setSelectionRange(at, Math.min(text.length, at + 1));
      }
    }
  }
  if (!canEdit) return html`<pre class="policy" data-testid=${`policy-text-${type}`}>${current.text}</pre>`;
  return html`
    <textarea ref=${area} class=${problem ? 'policy invalid' : 'policy'} data-testid=${`policy-editor-${type}`} spellcheck="false" rows="14"
      value=${text} onInput=${(e) => setText(e.target.value)} aria-invalid=${problem ? 'true' : 'false'}></textarea>
    ${problem && html`<div class="error" role="alert" data-testid="policy-error">
      <p>${problem.message}</p>
      ${problem.line && html`<${Excerpt} text=${problem.text} line=${problem.line} column=${problem.column} />`}
    </div>`}
    ${saved && html`<p class="ok" data-testid="policy-saved">Saved as version ${saved.version} (hash ${saved.hash}).</p>`}
    <button type="button" data-testid=${`policy-save-${type}`} onClick=${save}>Save ${type} policy</button>`;
}

export function PoliciesPage({ me }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = () => get('/ui/api/policies').then(setData, setError);
  useEffect(() => { load(); }, []);
  if (!data) return html`<${ErrorBox} error=${error} />`;
  const canEdit = me.role === 'admin' && !data.isolated;
  return html`
    <${ErrorBox} error=${error} />
    ${data.isolated && html`<p class="muted">Isolated mode: policies change only by a JWS signed with a registered policy certificate, not here.</p>`}
    ${me.role !== 'admin' && html`<p class="muted">Read-only: a viewer cannot change policies.</p>`}
    ${data.types.map((t) => html`<article class="policy-type" data-testid=${`policy-${t.type}`}>
      <h2>${t.type} ${t.current.isDefault && html`<span class="badge expiring">default</span>`}</h2>
      <p>In force: hash <code data-testid=${`policy-hash-${t.type}`}>${t.current.hash}</code>${t.current.signed ? ' (signed)' : ''}</p>
      <${Editor} type=${t.type} current=${t.current} canEdit=${canEdit} onSaved=${load} />
      <h3>History</h3>
      ${t.history.length === 0 ? html`<p class="muted">Never set: the default is in force.</p>` : html`<table>
        <thead><tr><th>version</th><th>hash</th><th>set at</th><th>set by</th></tr></thead>
        <tbody>${t.history.map((h) => html`<tr><td>${h.version}</td><td><code>${h.reset ? '(reset to default)' : h.hash}</code></td><td>${fmt.time(h.setAt)}</td><td>${h.setBy}</td></tr>`)}</tbody>
      </table>`}
    </article>`)}`;
}
