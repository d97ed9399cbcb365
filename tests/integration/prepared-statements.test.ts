import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { rows } from '../../db/client.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { regularFlow } from '../support/scenarios.ts';

/**
 * Behind PgBouncer in transaction pooling a named statement prepared on one server connection is
 * missing on the next, so DATABASE_PREPARED_STATEMENTS=off must leave none on the server. One pooled
 * connection, so pg_prepared_statements (which lists only its own session's) sees every query.
 */
async function preparedOnTheConnection(h: Harness): Promise<number> {
  const [found] = await rows<{ n: number }>(h.database.db, sql`SELECT count(*)::int AS n FROM pg_prepared_statements`);
  return found!.n;
}

describe('DATABASE_PREPARED_STATEMENTS', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is on unless set to off, and refuses anything else', () => {
    expect(loadConfig({}).preparedStatements).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'on' }).preparedStatements).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'off' }).preparedStatements).toBe(false);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' })).toThrow(/DATABASE_PREPARED_STATEMENTS/);
  });

  it('on: the transition queries are named prepared statements on the server connection', async () => {
    h = await startHarness({ label: 'prepared_on', database: { poolSize: 1, preparedStatements: true } });
    await regularFlow(h);
    expect(await preparedOnTheConnection(h)).toBeGreaterThan(0);
  });

  it('off: the whole regular flow works and leaves no prepared statement on the server connection', async () => {
    h = await startHarness({ label: 'prepared_off', database: { poolSize: 1, preparedStatements: false } });
    await regularFlow(h);
    expect(await preparedOnTheConnection(h)).toBe(0);
  });
});
