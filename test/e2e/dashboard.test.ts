// The dashboard in a real browser: Debian's Chromium driven by playwright-core (no downloaded browser), against
// the attestation service over HTTPS on a SQLite store. No control plane: the cluster page reads a fixed list.
// Screenshots go to test-artifacts/dashboard/ (git-ignored) for a person to look at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN, VIEWER, startDashboard, type Dashboard } from '../web/helpers.js';

const CHROMIUM = process.env.CONFKUBE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));

const BAD_POLICY = `version= 1.0;
authorizationrules {
  c:[type=="x-ms-sgx-is-debuggable", value==false] => permit()
};`;

describe('dashboard in Chromium', () => {
  let dir: string;
  let d: Dashboard;
  let browser: Browser;
  /** Console errors (a CSP violation is one) and page errors, per page: none is expected. */
  const problems: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'confkube-dashboard-e2e-'));
    d = await startDashboard(`sqlite:${join(dir, 'store.db')}`);
    // Root in a container has no user namespaces for Chromium's sandbox; the page is our own.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });
  after(async () => {
    await browser?.close();
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function loggedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // A failed load is reported by URL below; the console's copy of it names none.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => {
      const expected = r.status() === 400 && r.request().method() === 'PUT' && r.url().includes('/ui/api/policies/');
      if (r.status() >= 400 && !expected) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    await page.goto(`${d.url}/ui/`);
    await page.waitForURL(/\/ui\/login$/);
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.getByTestId('who').waitFor();
    return { context, page };
  }

  test('log in, see the attestation plot change after an attestation', async () => {
    const { context, page } = await loggedIn(ADMIN);
    try {
      assert.match(await page.getByTestId('who').innerText(), /^admin:[0-9a-f]{8} \(admin\)$/);
      const cookies = await context.cookies();
      assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite]), [['__Host-confkube-ui', true, true, 'Strict']]);
      await page.getByTestId('plot-decision').locator('canvas').waitFor();
      const permits = Number(await page.getByTestId('total-permit').innerText());
      const plotBefore = await page.getByTestId('plot-decision').locator('canvas').screenshot();
      await page.screenshot({ path: join(ARTIFACTS, '1-attestations-before.png'), fullPage: true });
      assert.equal(await d.attest(), 200);
      await page.getByTestId('refresh').click();
      await page.waitForFunction((n) => document.querySelector('[data-testid=total-permit]')?.textContent === String(n), permits + 1);
      await page.getByTestId('plot-decision').locator('canvas').waitFor();
      const plotAfter = await page.getByTestId('plot-decision').locator('canvas').screenshot();
      assert.notDeepEqual(plotAfter, plotBefore, 'the plot is drawn anew with the new count');
      assert.equal(await page.getByTestId('audit-attestation').locator('tbody tr').count(), permits + 1);
      await page.screenshot({ path: join(ARTIFACTS, '2-attestations-after.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('edit a policy: the validation error is shown in place; a valid one is saved and listed', async () => {
    const { context, page } = await loggedIn(ADMIN);
    try {
      await page.goto(`${d.url}/ui/#policies`);
      const editor = page.getByTestId('policy-editor-SgxEnclave');
      await editor.fill(BAD_POLICY);
      await page.getByTestId('policy-save-SgxEnclave').click();
      const error = page.getByTestId('policy-error');
      await error.waitFor();
      const message = await error.innerText();
      const at = /line (\d+), column (\d+)/.exec(message);
      assert.ok(at, message);
      const excerpt = await page.getByTestId('policy-error-excerpt').innerText();
      const lines = excerpt.split('\n');
      assert.ok(lines[0]!.includes(BAD_POLICY.split('\n')[Number(at[1]) - 1]!), excerpt);
      assert.equal(lines[1]!.indexOf('^') - lines[1]!.indexOf('|') - 2, Number(at[2]) - 1, 'the caret stands under the column');
      assert.equal(await editor.getAttribute('aria-invalid'), 'true');
      // The caret in the editor is put where the error is.
      const selection = await editor.evaluate((el: HTMLTextAreaElement) => el.selectionStart);
      const want = BAD_POLICY.split('\n').slice(0, Number(at[1]) - 1).reduce((n, l) => n + l.length + 1, 0) + Number(at[2]) - 1;
      assert.equal(selection, Math.min(want, BAD_POLICY.length));
      await page.screenshot({ path: join(ARTIFACTS, '3-policy-error.png'), fullPage: true });
      await editor.fill(BAD_POLICY.replace('permit()\n', 'permit();\n'));
      await page.getByTestId('policy-save-SgxEnclave').click();
      await page.getByTestId('policy-saved').waitFor();
      await page.getByTestId('policy-SgxEnclave').locator('tbody tr').first().waitFor();
      assert.match(await page.getByTestId('policy-SgxEnclave').locator('tbody tr').first().innerText(), /^1\s+\S+\s+.+admin:[0-9a-f]{8}$/);
      await page.screenshot({ path: join(ARTIFACTS, '4-policy-saved.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('a viewer reads the policies without an editor', async () => {
    const { context, page } = await loggedIn(VIEWER);
    try {
      await page.goto(`${d.url}/ui/#policies`);
      await page.getByTestId('policy-text-SgxEnclave').waitFor();
      assert.equal(await page.getByTestId('policy-editor-SgxEnclave').count(), 0);
    } finally {
      await context.close();
    }
  });

  test('read a planner result', async () => {
    const { context, page } = await loggedIn(VIEWER);
    try {
      await page.goto(`${d.url}/ui/#planner`);
      await page.locator('[data-testid=plan-size-0] option[value=Standard_DC2s_v3]').waitFor({ state: 'attached' });
      await page.getByTestId('plan-run').click();
      await page.getByTestId('plan-result').waitFor();
      // The sample: 3 replicas × 64 MiB EPC onto 2 × Standard_DC2s_v3.
      const rows = await page.getByTestId('plan-placements').locator('tbody tr').allInnerTexts();
      assert.equal(rows.length, 3, rows.join('\n'));
      for (const r of rows) assert.match(r, /64\.0 MiB$/);
      assert.ok(await page.getByTestId('plan-nodes').locator('tbody tr').count() >= 2);
      await page.screenshot({ path: join(ARTIFACTS, '5-planner.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('no console error and no CSP violation on any page', async () => {
    const { context, page } = await loggedIn(VIEWER);
    try {
      for (const p of ['attestations', 'advisories', 'collateral', 'policies', 'keyreleases', 'cluster', 'planner']) {
        await page.goto(`${d.url}/ui/#${p}`);
        await page.locator(`[data-page=${p}]`).waitFor();
        await page.screenshot({ path: join(ARTIFACTS, `page-${p}.png`), fullPage: true });
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
