import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createDeadlineTimers } from '../../jobs/timers.ts';
import { REDIS_URL } from '../support/env.ts';

/** A TCP proxy to the real Redis that can be cut: Redis "dies" after the producer has connected. */
async function cuttableRedis() {
  const upstream = new URL(REDIS_URL);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const redis = net.connect(Number(upstream.port || 6379), upstream.hostname);
    client.pipe(redis).pipe(client);
    for (const s of [client, redis]) {
      sockets.add(s);
      s.on('error', () => {});
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('the deadline producer over a dead Redis', () => {
  const prefix = `test-offline-${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses an enqueue at once instead of queueing it for a reconnect, and tells the after-commit listener', async () => {
    const proxy = await cuttableRedis();
    const timers = createDeadlineTimers({ redisUrl: proxy.url, prefix });
    timers.queue.on('error', () => {});
    try {
      await timers.schedule('00000000-0000-4000-8000-000000000001', 1, new Date(Date.now() + 60_000).toISOString());
      proxy.cut();
      // Let the client see its socket close (it would otherwise write into the dying one).
      await new Promise((resolve) => setTimeout(resolve, 500));
      // With the offline queue on, this promise would wait for a Redis that never comes back.
      await expect(timers.schedule('00000000-0000-4000-8000-000000000002', 1, new Date().toISOString())).rejects.toThrow(
        /enableOfflineQueue/,
      );
      const told = new Promise<unknown>((resolve) =>
        timers.listener(resolve)('00000000-0000-4000-8000-000000000003', {
          kind: 'set',
          version: 1,
          due_at: new Date().toISOString(),
          previous: null,
        }),
      );
      expect(String(await told)).toMatch(/enableOfflineQueue/);
    } finally {
      proxy.cut();
      await timers.close().catch(() => {});
    }
  });
});
