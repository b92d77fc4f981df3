// The dashboard shell: who is logged in, the page list, and the page named by the URL's hash.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html, send, session } from './api.js';
import { AdvisoriesPage, AttestationsPage, CollateralPage, KeyReleasesPage } from './pages-trust.js';
import { PoliciesPage } from './pages-policy.js';
import { ClusterPage, PlannerPage } from './pages-cluster.js';

const PAGES = [
  ['attestations', 'Attestations', AttestationsPage],
  ['advisories', 'Advisories', AdvisoriesPage],
  ['collateral', 'Collateral', CollateralPage],
  ['policies', 'Policies', PoliciesPage],
  ['keyreleases', 'Key releases', KeyReleasesPage],
  ['cluster', 'Nodes and pools', ClusterPage],
  ['planner', 'Planner', PlannerPage],
];

const current = () => window.location.hash.replace(/^#/, '') || 'attestations';

function App() {
  const [me, setMe] = useState(null);
  const [page, setPage] = useState(current());
  useEffect(() => {
    session().then(setMe, () => undefined);
    const onHash = () => setPage(current());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  if (!me) return html`<p>Loading…</p>`;
  const entry = PAGES.find(([id]) => id === page) ?? PAGES[0];
  const Page = entry[2];
  async function logout() {
    await send('POST', '/ui/api/logout').catch(() => undefined);
    window.location.assign('/ui/login');
  }
  return html`
    <header>
      <strong>confkube</strong>
      <nav>${PAGES.map(([id, title]) => html`<a href=${`#${id}`} class=${id === entry[0] ? 'active' : ''}>${title}</a>`)}</nav>
      <span class="who" data-testid="who">${me.who} (${me.role})</span>
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    <section class="page" data-page=${entry[0]}><h1>${entry[1]}</h1><${Page} me=${me} /></section>`;
}

render(html`<${App} />`, document.getElementById('app'));
