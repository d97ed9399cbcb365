/** The SQLSTATE and constraint of a database error, whichever driver (or drizzle wrapper) threw it. */
export function pgErrorOf(error: unknown): { code: string; constraint: string | undefined } | null {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
      const constraint = (e.constraint_name ?? e.constraint) as string | undefined;
      return { code: e.code, constraint };
    }
    e = e.cause as Record<string, unknown> | undefined;
  }
  return null;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';

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
