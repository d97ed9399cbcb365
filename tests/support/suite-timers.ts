import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type DeadlineTimers, createDeadlineTimers } from '../../jobs/timers.ts';
import { REDIS_URL } from './env.ts';
import { dropRedisKeys } from './redis-keys.ts';

export interface SuiteTimers {
  /** The suite's Redis prefix, `test-<name>-<random hex>`; queues beside it (`${prefix}-…`) go with it. */
  readonly prefix: string;
  /** The suite's BullMQ deadline timers, from its beforeAll on. */
  readonly timers: DeadlineTimers;
}

/**
 * BullMQ deadline timers for a suite, on a Redis prefix of its own. Before the suite's tests the timers
 * start, then `start` (what schedules through them, e.g. a harness); after them the timers close, then
 * what `start` gave, and every key under the prefix is deleted.
 */
export function suiteTimers(name: string, start?: (timers: DeadlineTimers) => Promise<{ close(): Promise<unknown> }>): SuiteTimers {
  const prefix = `test-${name}-${randomBytes(4).toString('hex')}`;
  let timers: DeadlineTimers | undefined;
  let started: { close(): Promise<unknown> } | undefined;
  beforeAll(async () => {
    timers = createDeadlineTimers({ redisUrl: REDIS_URL, prefix });
    started = await start?.(timers);
  });
  afterAll(async () => {
    await timers?.close();
    await started?.close();
    await dropRedisKeys(REDIS_URL, prefix);
  });
  return {
    prefix,
    get timers() {
      if (!timers) throw new Error(`the timers of ${prefix} start in the suite's beforeAll`);
      return timers;
    },
  };
}
