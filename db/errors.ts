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
