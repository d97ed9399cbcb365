/**
 * Every PostgreSQL advisory lock key the service takes, in one table, so two features never pick
 * the same number by accident. The values are released behaviour: a running older process takes
 * the same keys, so a key is never renumbered, only added.
 */
export const ADVISORY_LOCKS = {
  /** Session lock while drizzle-kit's migrations run, so starting processes migrate one at a time. */
  migrations: 7253110,
  /** Transaction lock of one relay pass (jobs/relay.ts): two relays never publish the same rows. */
  relay: 7253111,
  /** Transaction lock while committed outbox rows get their feed positions (db/feed.ts). */
  outboxPositions: 7253112,
} as const;

export type AdvisoryLock = keyof typeof ADVISORY_LOCKS;
