import { Redis } from 'ioredis';

/**
 * Deletes every Redis key that starts with `prefix` (a test's own random prefix): BullMQ keeps
 * its queue's keys forever, so a test that does not remove them leaves them behind in Redis.
 */
export async function dropRedisKeys(redisUrl: string, ...prefixes: string[]): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
