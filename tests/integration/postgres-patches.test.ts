import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DATABASE_URL } from '../support/env.ts';

/**
 * The guards scripts/patch-postgres.mjs puts into postgres.js at install. The write scheduler's
 * guards are exercised by the outage and chaos runs; this one has a deterministic trigger.
 */
describe('postgres.js as installed (scripts/patch-postgres.mjs)', () => {
  it('survives a new connection whose array-types fetch fails: no unhandled rejection to kill the process', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'tests/support/postgres-types-child.ts', DATABASE_URL], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ unhandled: [] });
    expect(child.status).toBe(0);
  });
});
