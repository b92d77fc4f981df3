import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfkubeError } from '../lib/errors.js';

/**
 * The dashboard's files, all served by the service itself (no CDN, no build step): its own ES modules from
 * `src/web/ui/`, and Preact, htm and uPlot as their packages ship them in node_modules. A fixed list: a
 * request names an entry, never a path (docs/dashboard.md §Front end).
 */
export interface Asset { body: Buffer; type: string }

const OWN = ['app.js', 'api.js', 'login.js', 'plot.js', 'pages-trust.js', 'pages-policy.js', 'pages-cluster.js', 'style.css'] as const;

/** Bare specifiers the browser resolves through the page's import map. */
const VENDOR: Record<string, { pkg: string; file: string; specifier?: string }> = {
  'preact.mjs': { pkg: 'preact', file: 'dist/preact.mjs', specifier: 'preact' },
  'hooks.mjs': { pkg: 'preact', file: 'hooks/dist/hooks.mjs', specifier: 'preact/hooks' },
  'htm.mjs': { pkg: 'htm', file: 'dist/htm.mjs', specifier: 'htm' },
  'uPlot.esm.js': { pkg: 'uplot', file: 'dist/uPlot.esm.js', specifier: 'uplot' },
  'uPlot.min.css': { pkg: 'uplot', file: 'dist/uPlot.min.css' },
};

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8' };

export class DashboardAssetError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_DASHBOARD_ASSET', message);
  }
}

function typeOf(name: string): string {
  return TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

/** `ui/` beside this module: src/web/ui in the source tree, dist/web/ui once built (`npm run build` copies it). */
function uiDir(): string {
  const dir = fileURLToPath(new URL('./ui/', import.meta.url));
  if (!existsSync(join(dir, 'app.js'))) throw new DashboardAssetError(`the dashboard files are missing from this installation (${dir})`);
  return dir;
}

export interface Assets {
  own: Map<string, Asset>;
  vendor: Map<string, Asset>;
  /** The dashboard and login pages, with the import map inline. */
  page: Buffer;
  login: Buffer;
  /** The Content-Security-Policy of every /ui answer: scripts from the service only, plus the import map by hash. */
  csp: string;
}

const IMPORT_MAP = JSON.stringify({ imports: Object.fromEntries(Object.entries(VENDOR).filter(([, v]) => v.specifier).map(([name, v]) => [v.specifier, `/ui/vendor/${name}`])) });

function html(title: string, script: string): Buffer {
  return Buffer.from(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/vendor/uPlot.min.css">
<link rel="stylesheet" href="/ui/static/style.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/ui/static/${script}"></script>
</head>
<body><main id="app"><noscript>The confkube dashboard needs JavaScript.</noscript></main></body>
</html>
`);
}

/** The folder of package PKG (not every package exports its package.json, so walk up from its entry point). */
function packageRoot(require: NodeJS.Require, pkg: string): string {
  let dir: string;
  try {
    dir = dirname(require.resolve(pkg));
  } catch {
    throw new DashboardAssetError(`the dashboard needs the ${pkg} package: not installed`);
  }
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === pkg) return dir;
    } catch {
      // not the package's root yet
    }
  }
  throw new DashboardAssetError(`the ${pkg} package's folder was not found above ${require.resolve(pkg)}`);
}

/** Read once at start: a missing file fails the service's start, not a user's first visit. */
export function loadAssets(): Assets {
  const dir = uiDir();
  const own = new Map(OWN.map((n) => [n, { body: readFileSync(join(dir, n)), type: typeOf(n) }]));
  const require = createRequire(import.meta.url);
  const vendor = new Map<string, Asset>();
  for (const [name, v] of Object.entries(VENDOR)) {
    vendor.set(name, { body: readFileSync(join(packageRoot(require, v.pkg), v.file)), type: typeOf(name) });
  }
  const mapHash = createHash('sha256').update(IMPORT_MAP).digest('base64');
  const csp = [
    "default-src 'none'", `script-src 'self' 'sha256-${mapHash}'`, "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
  ].join('; ');
  return { own, vendor, page: html('confkube', 'app.js'), login: html('confkube — log in', 'login.js'), csp };
}
