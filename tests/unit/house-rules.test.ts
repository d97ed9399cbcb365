import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The house rules of the README's Layout, as a test: machines/ stay pure (xstate, zod and each
 * other), the adapters in server/, jobs/ and runtime/ reach the database only through app/ (no db/, no
 * drizzle-orm), SQL lives in db/ (app/ and ops/ import neither drizzle-orm nor db/schema.ts), and
 * nothing outside tests/ depends on tests/. Imports are read as text, so a rule
 * broken by a type-only import or a dynamic import() fails here too.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIPPED_DIRS = new Set(['node_modules', '.git', 'drizzle', 'visualizations', 'dist']);

interface Import {
  /** The importing file, relative to the repository root, with forward slashes. */
  file: string;
  /** What it imports: a package name, or a repository-relative path for relative imports. */
  target: string;
}

function sourceFiles(dir = ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(join(dir, entry.name));
    return /\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [join(dir, entry.name)] : [];
  });
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Every import of a file's text; relative specifiers become repository-relative paths. */
export function importsOf(file: string, text: string): Import[] {
  return [...text.matchAll(SPECIFIER)].map(([, specifier]) => ({
    file,
    target: specifier!.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), specifier!)) : specifier!,
  }));
}

const packageOf = (target: string) => (target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0]!);
const isTestCode = (file: string) => file.startsWith('tests/');
const inside = (target: string, folder: string) => target === folder || target.startsWith(`${folder}/`);

/** Exceptions to the rules, each with its reason and when it goes. None today. */
const ALLOWED: ReadonlyArray<Import> = [];

/** The rules each import is held to; answers the broken rule, or null. */
export function brokenRule({ file, target }: Import): string | null {
  const local =
    !/^[a-z@]/i.test(target) ||
    ['machines', 'model', 'app', 'db', 'server', 'jobs', 'ops', 'tests', 'scripts', 'bench', 'web', 'runtime'].some((f) =>
      inside(target, f),
    );
  if (file.startsWith('machines/')) {
    const pure = local ? inside(target, 'machines') : ['xstate', 'zod'].includes(packageOf(target));
    if (!pure) return 'machines/ imports only xstate, zod and machines/';
  }
  if (['server/', 'jobs/', 'runtime/'].some((folder) => file.startsWith(folder))) {
    if (local ? inside(target, 'db') : packageOf(target) === 'drizzle-orm')
      return 'server/, jobs/ and runtime/ reach the database only through app/';
  }
  if (file.startsWith('app/') || file.startsWith('ops/')) {
    if (local ? target === 'db/schema.ts' : packageOf(target) === 'drizzle-orm')
      return 'SQL lives in db/: app/ and ops/ import neither drizzle-orm nor db/schema.ts';
  }
  if (!isTestCode(file) && local && inside(target, 'tests')) return 'only tests/ imports tests/';
  return null;
}

function violations(imports: Import[]): string[] {
  return imports
    .filter((i) => !ALLOWED.some((a) => a.file === i.file && a.target === i.target))
    .flatMap((i) => {
      const rule = brokenRule(i);
      return rule ? [`${i.file} imports ${i.target}: ${rule}`] : [];
    });
}

const tree = sourceFiles().flatMap((path) => {
  const file = relative(ROOT, path).split('\\').join('/');
  return importsOf(file, readFileSync(path, 'utf8'));
});

describe('house rules', () => {
  it('reads the imports of the whole tree (so an empty scan cannot pass)', () => {
    const files = new Set(tree.map((i) => i.file));
    for (const folder of ['machines/', 'app/', 'db/', 'server/', 'jobs/', 'scripts/', 'tests/']) {
      expect(
        [...files].some((f) => f.startsWith(folder)),
        folder,
      ).toBe(true);
    }
    expect(tree).toContainEqual({ file: 'machines/batch.ts', target: 'xstate' });
    expect(tree).toContainEqual({ file: 'server/app.ts', target: 'app/service.ts' });
  });

  it('names each kind of broken rule', () => {
    const broken = [
      importsOf('machines/batch.ts', "import { readFileSync } from 'node:fs';"),
      importsOf('machines/batch.ts', "import type { Db } from '../db/client.ts';"),
      importsOf('server/routes/batches.ts', "import { sql } from 'drizzle-orm';"),
      importsOf('jobs/relay.ts', "const m = await import('../db/outbox.ts');"),
      importsOf('scripts/snapshot-corpus.ts', "import { MODEL } from '../tests/model/driver.ts';"),
      importsOf('app/review-reads.ts', "import { sql } from 'drizzle-orm';"),
      importsOf('app/queries.ts', "import type { batches } from '../db/schema.ts';"),
      importsOf('ops/metrics.ts', "import { eq } from 'drizzle-orm/sql';"),
    ].flat();
    expect(broken).toHaveLength(8);
    expect(violations(broken)).toHaveLength(8);
    const fine = [
      importsOf('machines/batch.ts', "import { z } from 'zod';\nimport { setup } from 'xstate';\nimport { x } from './domain.ts';"),
      importsOf('server/app.ts', "import type { Service } from '../app/service.ts';"),
      importsOf('tests/unit/x.test.ts', "import { rows } from '../../db/client.ts';"),
      importsOf('app/apply.ts', "import { loadBatchActor } from '../db/actor-load.ts';"),
    ].flat();
    expect(violations(fine)).toEqual([]);
  });

  it('holds for every file in the tree', () => {
    expect(violations(tree)).toEqual([]);
  });
});
