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
 * Codes meaning "the database cannot be reached right now", not "this request is wrong": postgres.js's
 * own connection errors, the socket's, and PostgreSQL's shutdown and startup refusals. Class 08 is
 * connection exceptions; 57P01-57P03 are admin_shutdown, crash_shutdown, cannot_connect_now;
 * 53100 is disk_full (the embedded database's disk): try again later, nothing was written.
 */
const UNREACHABLE_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53100',
]);

/** True when the error (or one it wraps, as drizzle does) says the database is unreachable for now. */
export function databaseUnreachable(error: unknown): boolean {
  for (let e = error as Record<string, unknown> | undefined, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = e.code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    e = e.cause as Record<string, unknown> | undefined;
  }
  return false;
}
