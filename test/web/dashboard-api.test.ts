// The dashboard's HTTP side on both store backends: login and roles, the session cookie and CSRF, the page's
// Content-Security-Policy, aggregation against a naive count, paging, policy edits with located errors, the
// cluster and planner answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BACKENDS, startBackend, type Backend } from '../store/helpers/backends.js';
import { ADMIN, VIEWER, startDashboard, type Dashboard } from './helpers.js';
import { policyHash } from '../../src/attestation/policy-jws.js';
import type { ClusterSource } from '../../src/web/index.js';
import type { AuditRecord } from '../../src/store/index.js';

const STRICT = `version= 1.0;
authorizationrules { c:[type=="x-ms-sgx-is-debuggable", value==false] => permit(); };
issuancerules { };`;

function cookieOf(res: { headers: Record<string, string | string[] | undefined> }): string {
  const set = res.headers['set-cookie'];
  const line = Array.isArray(set) ? set[0]! : String(set);
  return line.split(';')[0]!;
}

async function login(d: Dashboard, token: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await d.call('POST', '/ui/api/login', { body: { token } });
  assert.equal(res.status, 200, res.text);
  const set = res.headers['set-cookie'];
  return { cookie: cookieOf(res), csrf: res.json().csrf, setCookie: Array.isArray(set) ? set[0]! : String(set) };
}

function record(i: number, over: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: Date.now() - 3_600_000 + i * 997, clientAddress: '10.1.0.1', attestationType: i % 5 === 0 ? 'keyrelease/k' : 'SgxEnclave',
    mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32), tcbStatus: ['UpToDate', 'OutOfDate', null][i % 3]!, decision: (['permit', 'deny', 'error'] as const)[i % 3]!,
    policyHash: null, tokenId: null, simulated: false, ...over,
  };
}

for (const kind of BACKENDS) {
  describe(`dashboard API (${kind})`, () => {
    let backend: Backend;
    let d: Dashboard;
    let pods: { nodes: unknown[]; pods: unknown[] } = { nodes: [], pods: [] };
    const cluster: ClusterSource = { nodesAndPods: async () => pods as never, usedByNode: () => new Map([['sgx-1', 8 * 1024 * 1024]]) };
    before(async () => {
      backend = await startBackend(kind);
      d = await startDashboard(await backend.freshUrl(), { cluster });
    });
    after(async () => {
      await d?.stop();
      await backend.stop();
    });

    test('pages and API need a login; the login page and files do not', async () => {
      const page = await d.call('GET', '/ui');
      assert.equal(page.status, 303);
      assert.equal(page.headers.location, '/ui/login');
      assert.equal((await d.call('GET', '/ui/api/session')).status, 401);
      assert.equal((await d.call('GET', '/ui/api/attestations')).status, 401);
      assert.equal((await d.call('GET', '/ui/login')).status, 200);
      const js = await d.call('GET', '/ui/static/app.js');
      assert.equal(js.status, 200);
      assert.match(String(js.headers['content-type']), /^text\/javascript/);
      assert.equal((await d.call('GET', '/ui/vendor/preact.mjs')).status, 200);
      assert.equal((await d.call('GET', '/ui/static/..%2F..%2Fpackage.json')).status, 404);
      assert.equal((await d.call('GET', '/ui/vendor/package.json')).status, 404);
    });

    test('the Content-Security-Policy allows the service\'s own scripts and the inline import map by hash, nothing inline else', async () => {
      const res = await d.call('GET', '/ui/login');
      const csp = String(res.headers['content-security-policy']);
      const map = /<script type="importmap">(.*?)<\/script>/s.exec(res.text)![1]!;
      assert.ok(csp.includes(`script-src 'self' 'sha256-${createHash('sha256').update(map).digest('base64')}'`), csp);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
    });

    test('login gives a __Host- cookie that is HttpOnly, Secure and SameSite=Strict; a wrong token is a 401', async () => {
      const bad = await d.call('POST', '/ui/api/login', { body: { token: 'x'.repeat(40) } });
      assert.equal(bad.status, 401);
      assert.equal(bad.headers['set-cookie'], undefined);
      assert.equal((await d.call('POST', '/ui/api/login', { body: {} })).status, 400);
      const v = await login(d, VIEWER);
      assert.match(v.setCookie, /^__Host-confkube-ui=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
      const s = await d.call('GET', '/ui/api/session', { cookie: v.cookie });
      assert.equal(s.json().role, 'viewer');
      assert.match(s.json().who, /^viewer:[0-9a-f]{8}$/);
      assert.equal((await d.call('GET', '/ui', { cookie: v.cookie })).status, 200);
      await d.call('POST', '/ui/api/logout', { cookie: v.cookie });
      assert.equal((await d.call('GET', '/ui/api/session', { cookie: v.cookie })).status, 401);
      assert.equal((await d.call('GET', '/ui/api/session', { cookie: '__Host-confkube-ui=forged' })).status, 401);
    });

    test('a viewer reads but cannot edit; an admin edits only with the CSRF header; bearer tokens work for scripts', async () => {
      const v = await login(d, VIEWER);
      assert.equal((await d.call('GET', '/ui/api/policies', { cookie: v.cookie })).status, 200);
      const denied = await d.call('PUT', '/ui/api/policies/SgxEnclave', { cookie: v.cookie, body: { text: STRICT }, headers: { 'x-confkube-csrf': v.csrf } });
      assert.equal(denied.status, 403);
      assert.equal((await d.call('PUT', '/ui/api/policies/SgxEnclave', { token: VIEWER, body: { text: STRICT } })).status, 403);
      const a = await login(d, ADMIN);
      const noCsrf = await d.call('PUT', '/ui/api/policies/SgxEnclave', { cookie: a.cookie, body: { text: STRICT } });
      assert.equal(noCsrf.status, 403);
      assert.match(noCsrf.json().error.message, /x-confkube-csrf/);
      assert.equal((await d.call('PUT', '/ui/api/policies/SgxEnclave', { cookie: a.cookie, body: { text: STRICT }, headers: { 'x-confkube-csrf': v.csrf } })).status, 403);
      const ok = await d.call('PUT', '/ui/api/policies/SgxEnclave', { cookie: a.cookie, body: { text: STRICT }, headers: { 'x-confkube-csrf': a.csrf } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json().hash, policyHash(STRICT));
      const pol = (await d.call('GET', '/ui/api/policies', { token: VIEWER })).json();
      const sgx = pol.types.find((t: { type: string }) => t.type === 'SgxEnclave');
      assert.equal(sgx.current.hash, policyHash(STRICT));
      assert.equal(sgx.current.isDefault, false);
      assert.deepEqual(sgx.history.map((h: { version: number; hash: string; setBy: string }) => [h.version, h.hash, h.setBy]), [[1, policyHash(STRICT), ok.json().setBy]]);
      assert.match(ok.json().setBy, /^admin:[0-9a-f]{8}$/);
      // The change is in the management ledger like one through PUT /policies.
      const mgmt = (await d.call('GET', '/ui/api/audit?kind=management', { token: ADMIN })).json();
      assert.equal(mgmt.records[0].attestationType, 'management/policies:set/SgxEnclave');
    });

    test('a policy that does not compile is a 400 naming line and column, and nothing is stored', async () => {
      const before = (await d.call('GET', '/ui/api/policies', { token: ADMIN })).json().types[0].history.length;
      const bad = 'version= 1.0;\nauthorizationrules {\n  c:[type=="x-ms-sgx-is-debuggable", value==false] => permit()\n};';
      const res = await d.call('PUT', '/ui/api/policies/SgxEnclave', { token: ADMIN, body: { text: bad } });
      assert.equal(res.status, 400, res.text);
      const err = res.json().error;
      assert.equal(err.code, 'InvalidPolicy');
      assert.equal(typeof err.line, 'number');
      assert.equal(typeof err.column, 'number');
      assert.ok(err.line >= 3 && err.line <= 4, `line ${err.line}`);
      assert.match(err.message, new RegExp(`line ${err.line}, column ${err.column}`));
      assert.equal((await d.call('GET', '/ui/api/policies', { token: ADMIN })).json().types[0].history.length, before);
      assert.equal((await d.call('PUT', '/ui/api/policies/TdxVm', { token: ADMIN, body: { text: STRICT } })).status, 400);
    });

    test('the attestation counts equal a naive count of the audit log, and move with an attestation', async () => {
      const t0 = (await d.call('GET', '/ui/api/attestations', { token: VIEWER })).json();
      for (let i = 0; i < 40; i++) await d.store.appendAudit(record(i));
      assert.equal(await d.attest(), 200);
      const got = (await d.call('GET', '/ui/api/attestations', { token: VIEWER })).json();
      assert.equal(got.totals.permit + got.totals.deny + got.totals.error, t0.totals.permit + t0.totals.deny + t0.totals.error + 32 + 1);
      // Naive: every record of the window, counted one by one.
      const all = (await d.store.queryAudit({ limit: 100_000 })).filter((r) => r.time >= got.from && r.time < got.to && !/^(keyrelease|management)\//.test(r.attestationType));
      const naive = new Map<string, number>();
      for (const r of all) {
        const k = `${got.from + Math.floor((r.time - got.from) / got.bucketMs) * got.bucketMs}|${r.decision}|${r.tcbStatus}`;
        naive.set(k, (naive.get(k) ?? 0) + 1);
      }
      const served = new Map<string, number>(got.rows.map((r: { bucket: number; decision: string; tcbStatus: string | null; count: number }) => [`${r.bucket}|${r.decision}|${r.tcbStatus}`, r.count]));
      assert.deepEqual([...served.entries()].sort(), [...naive.entries()].sort());
      assert.ok(got.rows.length <= 150 * 9);
      assert.equal((await d.call('GET', '/ui/api/attestations?from=20&to=10', { token: VIEWER })).status, 400);
      assert.equal((await d.call('GET', '/ui/api/attestations?from=0&to=1000000000&bucket=1000', { token: VIEWER })).status, 400);
      assert.equal((await d.call('GET', '/ui/api/attestations?from=yesterday', { token: VIEWER })).status, 400);
    });

    test('audit pages: every record once, newest first, per kind, with a cursor', async () => {
      const want = (await d.store.queryAudit({ limit: 100_000, kind: 'keyrelease' })).map((r) => r.id);
      const seen: number[] = [];
      let next: string | null = null;
      do {
        const page: { records: AuditRecord[]; next: string | null } = (await d.call('GET', `/ui/api/audit?kind=keyrelease&limit=3${next ? `&before=${next}` : ''}`, { token: VIEWER })).json();
        seen.push(...page.records.map((r) => r.id!));
        next = page.next;
      } while (next);
      assert.deepEqual(seen, want);
      assert.ok(want.length >= 8);
      assert.equal((await d.call('GET', '/ui/api/audit?kind=x', { token: VIEWER })).status, 400);
      assert.equal((await d.call('GET', '/ui/api/audit?limit=100000', { token: VIEWER })).status, 400);
    });

    test('advisories named by verdicts link to Intel\'s pages; collateral shows its expiry', async () => {
      await d.store.appendAudit(record(1, { advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00219'] }));
      const adv = (await d.call('GET', '/ui/api/advisories', { token: VIEWER })).json().advisories;
      const sa615 = adv.find((a: { id: string }) => a.id === 'INTEL-SA-00615');
      assert.equal(sa615.url, 'https://www.intel.com/content/www/us/en/security-center/advisory/intel-sa-00615.html');
      assert.ok(sa615.attestations >= 1 && sa615.enclaves >= 1);
      const col = (await d.call('GET', '/ui/api/collateral', { token: VIEWER })).json();
      assert.ok(col.items.length > 0);
      for (const c of col.items) {
        assert.ok(['fresh', 'expiring', 'expired', 'unknown'].includes(c.state));
        if (c.nextUpdate !== null) assert.equal(c.expiresInMs, c.nextUpdate - col.now);
      }
    });

    test('cluster: nodes, pools and Pending pods with EPC numbers', async () => {
      pods = {
        nodes: [
          { metadata: { name: 'sgx-1', labels: { agentpool: 'sgx' } }, status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110', 'sgx.intel.com/epc': '64Mi', 'sgx.intel.com/enclave': '20' } } },
          { metadata: { name: 'plain-1', labels: { agentpool: 'plain' } }, status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110' } } },
        ],
        pods: [
          { metadata: { namespace: 'a', name: 'on' }, spec: { nodeName: 'sgx-1', containers: [{ resources: { limits: { 'sgx.intel.com/epc': '16Mi' } } }] }, status: { phase: 'Running' } },
          { metadata: { namespace: 'a', name: 'waiting' }, spec: { containers: [{ resources: { limits: { 'sgx.intel.com/epc': '128Mi' } } }] },
            status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 1 Insufficient sgx.intel.com/epc.' }] } },
        ],
      };
      const c = (await d.call('GET', '/ui/api/cluster', { token: VIEWER })).json();
      assert.equal(c.connected, true);
      assert.deepEqual(c.nodes, [{ name: 'sgx-1', pool: 'sgx', capacityBytes: 64 << 20, requestedBytes: 16 << 20, usedBytes: 8 << 20, pods: 1 }]);
      const sgx = c.pools.find((p: { pool: string }) => p.pool === 'sgx');
      assert.deepEqual([sgx.nodes, sgx.allocatableBytes, sgx.requestedBytes, sgx.usedBytes], [1, 64 << 20, 16 << 20, 8 << 20]);
      assert.equal(c.pools.find((p: { pool: string }) => p.pool === '(unscheduled)').pendingInsufficientEpc, 1);
      assert.deepEqual(c.pending, [{ namespace: 'a', name: 'waiting', epcRequestBytes: 128 << 20, message: '0/2 nodes are available: 1 Insufficient sgx.intel.com/epc.', insufficientEpc: true }]);
    });

    test('planner: manifests placed onto catalogue pools; bad YAML or an unknown size is a 400', async () => {
      const manifests = `apiVersion: batch/v1
kind: Job
metadata: {name: sgx-job}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: c
        image: x
        resources: {limits: {sgx.intel.com/epc: 10Mi}}
`;
      const res = await d.call('POST', '/ui/api/plan', { token: VIEWER, body: { manifests, pools: [{ name: 'sgx', vmSize: 'Standard_DC2s_v3', count: 1 }] } });
      assert.equal(res.status, 200, res.text);
      const r = res.json();
      assert.deepEqual(r.placements.map((p: { pool: string; epcBytes: number }) => [p.pool, p.epcBytes]), [['sgx', 10 << 20]]);
      assert.deepEqual(r.unschedulable, []);
      assert.equal((await d.call('POST', '/ui/api/plan', { token: VIEWER, body: { manifests: 'a: [', pools: [] } })).status, 400);
      assert.equal((await d.call('POST', '/ui/api/plan', { token: VIEWER, body: { manifests, pools: [{ vmSize: 'Nope', count: 1 }] } })).status, 400);
      // With the cluster: its node keeps what its pod requests, and its Pending pod is planned with the manifests.
      const live = await d.call('POST', '/ui/api/plan', { token: VIEWER, body: { manifests, pools: [], cluster: true } });
      assert.equal(live.status, 200, live.text);
      const lr = live.json();
      const sgx1 = lr.nodes.find((n: { name: string }) => n.name === 'sgx-1');
      assert.deepEqual([sgx1.epc.capacity, sgx1.epc.requested], [64 << 20, (16 << 20) + (10 << 20)]);
      assert.deepEqual(lr.placements.map((p: { pod: string; node: string }) => p.node), ['sgx-1']);
      assert.match(lr.unschedulable.map((u: { pod: string; reason: string }) => `${u.pod}: ${u.reason}`).join('\n'), /^a\/waiting: 0\/2 nodes are available: .*Insufficient sgx\.intel\.com\/epc/);
      assert.equal((await d.call('POST', '/ui/api/plan', { token: VIEWER, body: { manifests: ' ', pools: [] } })).status, 400);
      const cat = (await d.call('GET', '/ui/api/plan/catalogue', { token: VIEWER })).json();
      assert.ok(cat.sizes.some((s: { name: string }) => s.name === 'Standard_DC2s_v3'));
    });

    test('failed logins are throttled like the management API (429 with Retry-After)', async () => {
      let last = 0;
      for (let i = 0; i < 12; i++) last = (await d.call('POST', '/ui/api/login', { body: { token: `wrong-${i}`.padEnd(40, 'x') } })).status;
      assert.equal(last, 429);
    });
  });
}
