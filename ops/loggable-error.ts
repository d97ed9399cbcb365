import { pgErrorOf } from '../db/errors.ts';

/**
 * A failed query as a log line may show it: drizzle's message lists the SQL parameters (student
 * names, e-mails), so only the SQL text, the SQLSTATE and PostgreSQL's own message are kept.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { err: String(error) };
  const pg = pgErrorOf(error);
  const query = (error as { query?: unknown }).query;
  if (typeof query !== 'string' && pg === null) return { err: error.message, stack: error.stack };
  const cause = error.cause instanceof Error ? error.cause : null;
  const message = typeof query === 'string' ? (cause?.message ?? 'query failed') : error.message;
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  return {
    err: message,
    ...(pg ? { pg_code: pg.code } : {}),
    ...(pg?.constraint ? { pg_constraint: pg.constraint } : {}),
    ...(typeof query === 'string' ? { query: query.slice(0, 2000) } : {}),
    stack: [`${error.name}: ${message}`, ...frames].join('\n'),
  };
}
