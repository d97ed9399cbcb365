import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { loggableError } from '../../ops/loggable-error.ts';
import { harnessForSuite } from '../support/harness.ts';

/** Issue 10 item 9: a failed query's log fields carry the PostgreSQL error code, never the parameters. */
describe.each([
  { label: 'PostgreSQL', pglite: false },
  { label: 'PGlite', pglite: true },
])('a failed query as a log line on $label', ({ pglite }) => {
  const h = harnessForSuite({ label: 'query_errors', pglite });

  it('has pg_code and the SQL text, not the student name passed as a parameter', async () => {
    const failure = await h.database.db
      .execute(
        sql`INSERT INTO courses (course_code, name, language, level) VALUES (${'Astrid Lind'}, ${null}, ${'astrid@school.example'}, 1)`,
      )
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(Error);
    const fields = loggableError(failure);
    expect(fields.pg_code).toBe('23502');
    expect(String(fields.query)).toContain('INSERT INTO courses');
    expect(JSON.stringify(fields)).not.toContain('Astrid');
    expect(JSON.stringify(fields)).not.toContain('astrid@school.example');
  });
});
