import type { Context } from 'hono';
import { problem } from './problem.ts';

/** Seconds a client waits before retrying while the database is away: about one reconnect attempt. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * The database is unreachable (restarting, failing over, a connection terminated): 503 with
 * Retry-After, so a client can tell "try again" from "we broke". A write cut off mid-request may
 * have committed; the retry is safe where an event_id or Idempotency-Key makes it a duplicate.
 */
export function databaseUnavailable(c: Context): Response {
  c.header('retry-after', String(RETRY_AFTER_SECONDS));
  return problem(c, {
    status: 503,
    title: 'Unavailable',
    detail: `The database is unreachable for the moment; retry in ${RETRY_AFTER_SECONDS} s (with the same event_id or Idempotency-Key).`,
  });
}
