import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_QUEUE } from '../../jobs/timers.ts';
import { queueAnswers } from '../../ops/readiness.ts';
import { REDIS_URL } from '../support/env.ts';
import { dropRedisKeys } from '../support/redis-keys.ts';
import type { Harness } from '../support/harness.ts';
import { startObservedHarness } from '../support/observed.ts';
import { suiteTimers } from '../support/suite-timers.ts';

const basic = (password: string) => `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;

describe('the queue dashboard at /admin/queues', () => {
  let h: Harness;
  suiteTimers('ops', async (timers) => {
    h = (await startObservedHarness({ label: 'ops_dashboard', dashboard: { queues: [timers.queue] } })).h;
    return h;
  });

  it('asks for credentials without the service token, and refuses a teacher token', async () => {
    const none = await h.api('GET', '/admin/queues', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await h.api('GET', '/admin/queues', { token: await h.teacher('teacher-a') })).status).toBe(401);
    expect((await h.api('GET', '/admin/queues/api/queues', { token: 'not-the-token' })).status).toBe(401);
    expect((await h.api('GET', '/admin/queues', { token: null, headers: { authorization: basic('wrong') } })).status).toBe(401);
  });

  it('serves the page, its assets and the queue API with the service token as Bearer or Basic password', async () => {
    const page = await h.api('GET', '/admin/queues');
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('<html');
    // Assets are relative to <base href>, as the browser resolves them.
    const base = /<base href="([^"]+)"/.exec(String(page.body))?.[1];
    const script = /src="(static\/js\/main[^"]+\.js)"/.exec(String(page.body))?.[1];
    expect(base).toBe('/admin/queues/');
    expect(script).toBeDefined();
    const asset = await h.api('GET', new URL(script!, `http://x${base}`).pathname, {
      token: null,
      headers: { authorization: basic(h.serviceToken) },
    });
    expect(asset.status).toBe(200);
    expect(String(asset.body).length).toBeGreaterThan(1000);
    const api = await h.api('GET', '/admin/queues/api/queues');
    expect(api.status).toBe(200);
    expect(api.body.queues.map((q: { name: string }) => q.name)).toContain(DEADLINE_QUEUE);
  });
});

describe('without Redis', () => {
  let h: Harness;
  beforeAll(async () => {
    h = (await startObservedHarness({ label: 'ops_no_redis' })).h;
  });
  afterAll(() => h?.close());

  it('has no queue dashboard', async () => {
    expect((await h.api('GET', '/admin/queues')).status).toBe(404);
  });
});

describe('GET /readyz', () => {
  let h: Harness;
  let draining = false;
  let redisUp = true;
  let queue: Queue;
  let unreachable: Queue;
  let unreachableConnection: Redis;
  const prefix = `test-ready-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    queue = new Queue(DEADLINE_QUEUE, { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix });
    // Nothing listens on port 1: a client with unbounded retries never answers.
    unreachableConnection = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, retryStrategy: () => 200 });
    unreachableConnection.on('error', () => {});
    unreachable = new Queue(DEADLINE_QUEUE, { connection: unreachableConnection, prefix: 'test-unreachable' });
    unreachable.on('error', () => {});
    h = (
      await startObservedHarness({
        label: 'ops_ready',
        httpExtra: {
          draining: () => draining,
          readiness: { redis: () => (redisUp ? queueAnswers(queue)() : queueAnswers(unreachable, 300)()) },
        },
      })
    ).h;
  });
  afterAll(async () => {
    await queue?.close();
    unreachableConnection?.disconnect();
    await h?.close();
    await dropRedisKeys(REDIS_URL, prefix);
  });

  it('is ready when the database and Redis answer', async () => {
    const res = await h.api('GET', '/readyz', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready' });
  });

  it('answers 503 naming Redis when Redis does not answer', async () => {
    redisUp = false;
    try {
      const res = await h.api('GET', '/readyz', { token: null });
      expect(res.status).toBe(503);
      expect(res.body.detail).toMatch(/^redis: /);
    } finally {
      redisUp = true;
    }
  });

  it('answers 503 while draining, though everything answers', async () => {
    draining = true;
    try {
      const res = await h.api('GET', '/readyz', { token: null });
      expect(res.status).toBe(503);
      expect(res.body.title).toBe('Draining');
      expect((await h.api('GET', '/healthz', { token: null })).status).toBe(200);
    } finally {
      draining = false;
    }
    expect((await h.api('GET', '/readyz', { token: null })).status).toBe(200);
  });
});
