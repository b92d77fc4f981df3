// Code comments cite the project's own docs as `docs/<page>.md §<heading>`: every cited page and heading must
// exist, every relative link in the Markdown must reach a file (and its #anchor a heading), and nothing may cite
// a document the repository does not contain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCANNED = ['src', 'test', 'bench', 'scripts', 'deploy', 'docs', 'README.md'];
const TEXT = /\.(ts|js|mjs|md|ya?ml|proto)$/;

function walk(p: string, out: string[]): string[] {
  if (!existsSync(p)) return out;
  if (statSync(p).isFile()) {
    if (TEXT.test(p)) out.push(p);
    return out;
  }
  for (const name of readdirSync(p)) if (name !== 'node_modules' && name !== 'fixtures') walk(join(p, name), out);
  return out;
}

function sourceFiles(): string[] {
  // Fixture READMEs are prose and cite docs too; fixture data is not scanned.
  const readmes = walk(join(root, 'test', 'fixtures'), []).filter((f) => f.endsWith('README.md'));
  return [...SCANNED.flatMap((d) => walk(join(root, d), [])), ...readmes].sort();
}

/** Headings of a Markdown text, outside code fences. */
export function headingsOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) {
      const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
      if (m) out.push(m[1]);
    }
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation other than - and _ dropped, spaces as -. */
export function slugOf(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/**
 * The heading a citation's text starts with: the longest heading that the text after `§` begins with, followed
 * by the end of the line, punctuation, or a parenthesis. Null when none does.
 */
export function citedHeading(after: string, headings: readonly string[]): string | null {
  const fits = headings.filter((h) => after.startsWith(h) && /^($|[)\];,:.'"`|*]|\s+[(—])/.test(after.slice(h.length)));
  const best = fits.sort((a, b) => b.length - a.length)[0];
  if (best) return best;
  // A numbered heading ("## 3. A signed body counts once") may be cited by its number alone: §3.
  const n = /^(\d+(?:\.\d+)*)(?=$|[)\];,:'"`|*\s]|\.(?!\d))/.exec(after)?.[1];
  return (n && headings.find((h) => h.startsWith(`${n}. `) || h.startsWith(`${n} `))) ?? null;
}

const pages = new Map<string, string[]>();
function pageHeadings(page: string): string[] | null {
  if (!pages.has(page)) {
    const p = join(root, 'docs', page);
    pages.set(page, existsSync(p) ? headingsOf(readFileSync(p, 'utf8')) : []);
  }
  const h = pages.get(page)!;
  return h.length > 0 ? h : null;
}

interface Citation { where: string; page: string; after: string }

function citations(): Citation[] {
  const out: Citation[] = [];
  for (const f of sourceFiles()) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/docs\/([a-z0-9-]+\.md) §/g)) {
        out.push({ where: `${relative(root, f)}:${i + 1}`, page: m[1], after: line.slice(m.index! + m[0].length) });
      }
    });
  }
  return out;
}

test('the resolver refuses a missing heading and a heading that only starts the cited text', () => {
  const h = ['Collateral', 'Collateral freshness', 'MRENCLAVE and .sgxs'];
  assert.equal(citedHeading('Collateral freshness).', h), 'Collateral freshness');
  assert.equal(citedHeading('Collateral): TCB Info', h), 'Collateral');
  assert.equal(citedHeading('MRENCLAVE and .sgxs, and rust-sgx', h), 'MRENCLAVE and .sgxs');
  assert.equal(citedHeading('Collateral freshnes).', h), null);
  assert.equal(citedHeading('Collaterals)', h), null);
  assert.equal(citedHeading('No such heading', h), null);
  assert.equal(citedHeading('3).', ['2. Other', '3. A signed body counts once']), '3. A signed body counts once');
  assert.equal(citedHeading('4).', ['2. Other', '3. A signed body counts once']), null);
  assert.deepEqual(headingsOf('# A\n```\n# not a heading\n```\n## B ##\n'), ['A', 'B']);
  assert.equal(slugOf('MRENCLAVE and .sgxs'), 'mrenclave-and-sgxs');
  assert.equal(slugOf('api-version'), 'api-version');
});

test('every docs/<page>.md §<heading> cited in the repository exists', () => {
  const all = citations();
  assert.ok(all.length > 150, `expected the code to cite docs/ widely, found ${all.length} citations`);
  const broken = all.flatMap((c) => {
    const h = pageHeadings(c.page);
    if (!h) return [`${c.where}: docs/${c.page} does not exist`];
    return citedHeading(c.after, h) ? [] : [`${c.where}: docs/${c.page} has no heading "${c.after.slice(0, 40)}…"`];
  });
  assert.deepEqual(broken, []);
});

test('relative Markdown links reach a file, and #anchors into docs/ reach a heading', () => {
  const broken: string[] = [];
  for (const f of sourceFiles().filter((x) => x.endsWith('.md'))) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split('#');
      const file = path === '' ? f : resolve(dirname(f), path);
      if (!existsSync(file)) {
        broken.push(`${relative(root, f)}: link to missing ${target}`);
        continue;
      }
      if (anchor && file.endsWith('.md') && !headingsOf(readFileSync(file, 'utf8')).some((h) => slugOf(h) === anchor)) {
        broken.push(`${relative(root, f)}: link to missing heading ${target}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('nothing cites a document outside the repository', () => {
  // A public document is named before its section number (RFC 5280 §4.1.2.5, NIST SP 800-38D §8.2.2); a bare
  // number right after a bracket or quote, or one after "spec", cites notes the repository does not contain.
  const outside = /spec\s§|spec [`/]?(maa|dcap|k8s-sgx|sigstruct-epc)\b|(?<!docs\/)\b(maa|dcap|k8s-sgx|sigstruct-epc)\.md`? §|DESIGN\.md|STYLE\.md|research notes|[('"`]§\d/;
  const found: string[] = [];
  for (const f of sourceFiles().filter((x) => !x.startsWith(join(root, 'docs')))) {
    // This file names the patterns it looks for (as .ts, or beside its compiled .js in a test run's copy).
    if (f.replace(/\.js$/, '.ts') === fileURLToPath(import.meta.url).replace(/\.js$/, '.ts')) continue;
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      if (outside.test(line)) found.push(`${relative(root, f)}:${i + 1}: ${line.trim().slice(0, 100)}`);
    });
  }
  assert.deepEqual(found, []);
});
