import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The README and docs/ link to each other and to sections of each other. A moved file or a renamed
 * heading leaves a link that leads nowhere, and nothing else would notice: every relative link
 * must name a file that exists and, with a #fragment, a heading of that file.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCUMENTS = ['README.md', ...readdirSync(join(ROOT, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))];

/** Markdown outside fenced code blocks: a `# 1.` line in a shell block is no heading, a `[x](y)` there no link. */
export function prose(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .filter((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return false;
      }
      return !fenced;
    })
    .join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = text!
      .replace(/`/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link of a document: inline `[text](target)` links, code spans removed first. */
export function relativeLinks(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target!).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

/** What is wrong with one link from `from` (a repository-relative path), or null. */
export function brokenLink(from: string, target: string, read: (path: string) => string | null): string | null {
  const [path, fragment] = target.split('#', 2) as [string, string | undefined];
  const file =
    path === ''
      ? from
      : relative(ROOT, join(ROOT, dirname(from), path))
          .split('\\')
          .join('/');
  const text = read(file);
  if (text === null) return `${from}: ${target} names ${file}, which does not exist`;
  if (fragment !== undefined && file.endsWith('.md') && !anchorsOf(text).has(decodeURIComponent(fragment))) {
    return `${from}: ${target} names no heading of ${file}`;
  }
  return null;
}

const readRepo = (file: string) => {
  const path = join(ROOT, file);
  if (!existsSync(path)) return null;
  return file.endsWith('/') || !/\.[a-z]+$/i.test(file) ? '' : readFileSync(path, 'utf8');
};

describe('links between the README and docs/', () => {
  it('finds the documents and their links (so an empty scan cannot pass)', () => {
    expect(DOCUMENTS).toContain('docs/performance.md');
    expect(DOCUMENTS.length).toBeGreaterThan(5);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(relativeLinks(readme)).toContain('docs/wire.md');
    expect(anchorsOf(readme)).toContain('who-may-call-what');
  });

  it('makes anchors the way GitHub does', () => {
    expect([...anchorsOf("## Running on HuleEdu's Kafka\n## `npm start` and its `--flag`\n## Logs\n## Logs\n")]).toEqual([
      'running-on-huleedus-kafka',
      'npm-start-and-its---flag',
      'logs',
      'logs-1',
    ]);
    expect(anchorsOf('```sh\n# 1. not a heading\n```\n').size).toBe(0);
  });

  it('reports a link to a missing file and to a missing heading', () => {
    const read = (file: string) => (file === 'docs/a.md' ? '# A\n\n## Present\n' : null);
    expect(brokenLink('README.md', 'docs/a.md#present', read)).toBeNull();
    expect(brokenLink('README.md', 'docs/a.md#absent', read)).toMatch(/names no heading/);
    expect(brokenLink('README.md', 'docs/b.md', read)).toMatch(/does not exist/);
    expect(brokenLink('docs/a.md', '#present', read)).toBeNull();
    expect(brokenLink('docs/c.md', 'a.md#present', read)).toBeNull();
  });

  it('leads every relative link to a file that exists and a heading it has', () => {
    const broken = DOCUMENTS.flatMap((from) => {
      const links = relativeLinks(readFileSync(join(ROOT, from), 'utf8'));
      return links.flatMap((target) => brokenLink(from, target, readRepo) ?? []);
    });
    expect(broken).toEqual([]);
  });
});
