import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * `npm run mutants` refuses to run while a mutant's `find` no longer matches its code exactly
 * once; this keeps a refactor from leaving the list stale until the next mutation run.
 */
const ROOT = new URL('../../', import.meta.url);
const mutants = JSON.parse(readFileSync(new URL('tests/mutants/mutants.json', ROOT), 'utf8')) as Array<{
  id: string;
  file: string;
  find: string;
}>;

describe('the committed mutants', () => {
  it('each still matches its code exactly once', () => {
    expect(mutants.length).toBeGreaterThan(50);
    const stale = mutants.flatMap((m) => {
      const count = readFileSync(new URL(m.file, ROOT), 'utf8').split(m.find).length - 1;
      return count === 1 ? [] : [`${m.id}: occurs ${count} times in ${m.file}`];
    });
    expect(stale).toEqual([]);
  });
});
