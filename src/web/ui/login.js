// The login page: the token is posted as JSON (a cross-site form cannot send that without a preflight) and
// exchanged for the session cookie; the token itself is never stored by the page.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { html } from './api.js';

function Login() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const token = e.target.elements.token.value;
    try {
      const r = await fetch('/ui/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      if (r.ok) {
        window.location.assign('/ui/');
        return;
      }
      const body = await r.json().catch(() => null);
      setError(body?.error?.message ?? `HTTP ${r.status}`);
    } catch (err) {
      setError(String(err));
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="login">
    <h1>confkube</h1>
    <form onSubmit=${submit}>
      <label for="token">Admin or viewer token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
      <button type="submit" disabled=${busy}>Log in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
  </section>`;
}

render(html`<${Login} />`, document.getElementById('app'));
