import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, rows } from '../../db/client.ts';
import { type RelayOptions, createRelay } from '../../jobs/relay.ts';
import { outboxBacklog, relayOutbox } from '../../db/outbox.ts';
import { TOPICS } from '../../machines/events.ts';
import { REDIS_URL } from '../support/env.ts';
import { outboxEvents } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { eventually } from '../support/poll.ts';
import { guestFlow, regularFlow } from '../support/scenarios.ts';

const GROUP = 'test-consumers';

interface Delivered {
  event_id: string;
  seq: number;
  envelope: any;
}

/** Reads a whole stream as a consumer group member, acknowledging what it read. */
async function consume(redis: Redis, stream: string): Promise<Delivered[]> {
  await redis.xgroup('CREATE', stream, GROUP, '0', 'MKSTREAM').catch((e: Error) => {
    if (!e.message.includes('BUSYGROUP')) throw e;
  });
  const delivered: Delivered[] = [];
  for (;;) {
    const answer = (await redis.xreadgroup('GROUP', GROUP, 'consumer-1', 'COUNT', 100, 'STREAMS', stream, '>')) as Array<
      [string, Array<[string, string[]]>]
    > | null;
    const entries = answer?.[0]?.[1] ?? [];
    if (entries.length === 0) return delivered;
    for (const [id, fields] of entries) {
      const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]!]] : [])));
      delivered.push({ event_id: f.event_id!, seq: Number(f.seq), envelope: JSON.parse(f.envelope!) });
      await redis.xack(stream, GROUP, id);
    }
  }
}

/** What a consumer does with at-least-once delivery: keep the first of each event id. */
function dedupe(delivered: Delivered[]): Delivered[] {
  const seen = new Set<string>();
  return delivered.filter((d) => !seen.has(d.event_id) && seen.add(d.event_id));
}

async function outboxRows(db: Db, topic: string) {
  return rows<{ event_id: string; seq: number; envelope: unknown; published_at: string | null }>(
    db,
    sql`SELECT event_id, seq::int AS seq, envelope, published_at FROM outbox_messages WHERE topic = ${topic} ORDER BY seq, idx`,
  );
}

async function topics(db: Db): Promise<string[]> {
  return (await rows<{ topic: string }>(db, sql`SELECT DISTINCT topic FROM outbox_messages ORDER BY topic`)).map((r) => r.topic);
}

describe('the outbox relay to Redis Streams', () => {
  const h = harnessForSuite({ label: 'relay' });
  let redis: Redis;
  const opened: Redis[] = [];
  const prefixes: string[] = [];
  const prefix = () => {
    const p = `test-relay-${randomBytes(4).toString('hex')}:`;
    prefixes.push(p);
    return p;
  };
  const relayWith = (options: Omit<RelayOptions, 'redis'>) => {
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
    opened.push(connection);
    return createRelay(relayOutbox(h.database.db), { intervalMs: 20, ...options, redis: connection });
  };

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    for (const r of opened) r.disconnect();
    redis?.disconnect();
  });

  it('delivers every event of two flows exactly once and in order across a relay restart', async () => {
    const streamPrefix = prefix();
    const first = relayWith({ streamPrefix });
    await guestFlow(h);
    expect(await first.runOnce()).toBeGreaterThan(0);
    await first.stop();

    // Events committed while no relay runs wait in the outbox; the next relay picks them up.
    const { batchId } = await regularFlow(h);
    expect(await outboxBacklog(h.database.db)).toBeGreaterThan(0);
    const second = relayWith({ streamPrefix, batchSize: 2 });
    second.start();
    await eventually(async () => (await outboxBacklog(h.database.db)) === 0);
    await second.stop();

    for (const topic of await topics(h.database.db)) {
      const expected = await outboxRows(h.database.db, topic);
      const delivered = await consume(redis, `${streamPrefix}${topic}`);
      expect(delivered.map((d) => d.event_id)).toEqual(expected.map((r) => r.event_id));
      expect(delivered.map((d) => d.envelope)).toEqual(expected.map((r) => r.envelope));
      expect(expected.every((r) => r.published_at !== null)).toBe(true);
    }
    const confirmed = await consume(redis, `${streamPrefix}${TOPICS.associationsConfirmed}`);
    expect(confirmed).toEqual([]); // already read by the group above: nothing is delivered twice
    const all = await redis.xrange(`${streamPrefix}${TOPICS.associationsConfirmed}`, '-', '+');
    expect(all.map(([, f]) => JSON.parse(f[f.indexOf('envelope') + 1]!).data.batch_id)).toContain(batchId);
  });

  it('fans a row of many messages out in order, each with its own event id, and marks the row once all went out', async () => {
    const streamPrefix = prefix();
    const relay = relayWith({ streamPrefix, batchSize: 1 });
    await relay.runOnce();
    const topic = (name: string) => `test.fan-out.${name}.${randomBytes(3).toString('hex')}.v1`;
    const [first, second] = [topic('first'), topic('second')];
    const message = (t: string, n: number) => {
      const event_id = randomUUID();
      return { event_id, topic: t, correlation_id: randomUUID(), envelope: { event_id, n } };
    };
    const rowA = [message(first, 1), message(second, 2), message(first, 3)];
    const rowB = [message(second, 4), message(first, 5)];
    for (const messages of [rowA, rowB]) {
      await h.database.db.execute(
        sql`INSERT INTO outbox (batch_id, messages) VALUES (${randomUUID()}, ${JSON.stringify(messages)}::text::jsonb)`,
      );
    }
    const published: Array<{ seq: number; topic: string }> = [];
    // One row per pass: the relay goes on while a pass filled its rows, whatever the messages.
    const sent = await relayWith({ streamPrefix, batchSize: 1, onPublished: (p) => published.push(...p) }).runOnce();
    expect(sent).toBe(5);
    expect(published.map((p) => p.topic)).toEqual([...rowA, ...rowB].map((m) => m.topic));
    const on = async (t: string) => (await consume(redis, `${streamPrefix}${t}`)).map((d) => d.envelope.n);
    expect(await on(first)).toEqual([1, 3, 5]);
    expect(await on(second)).toEqual([2, 4]);
    const [left] = await rows<{ n: number }>(
      h.database.db,
      sql`SELECT count(*)::int AS n FROM outbox_messages WHERE event_id = ANY(${`{${[...rowA, ...rowB].map((m) => m.event_id).join(',')}}`}::uuid[]) AND published_at IS NULL`,
    );
    expect(left!.n).toBe(0);
  });

  it('publishes again after a crash between XADD and marking, so consumers deduping by event id miss nothing', async () => {
    const streamPrefix = prefix();
    await guestFlow(h);
    const pendingBefore = await rows<{ event_id: string; topic: string }>(
      h.database.db,
      sql`SELECT event_id, topic FROM outbox_messages WHERE published_at IS NULL ORDER BY seq, idx`,
    );
    expect(pendingBefore.length).toBeGreaterThan(0);
    const crashing = relayWith({
      streamPrefix,
      beforeMark: () => {
        throw new Error('process killed after XADD');
      },
    });
    await expect(crashing.runOnce()).rejects.toThrow('process killed');
    expect(await outboxBacklog(h.database.db)).toBe(pendingBefore.length);

    await relayWith({ streamPrefix }).runOnce();
    expect(await outboxBacklog(h.database.db)).toBe(0);
    for (const topic of new Set(pendingBefore.map((p) => p.topic))) {
      const delivered = await consume(redis, `${streamPrefix}${topic}`);
      const expected = pendingBefore.filter((p) => p.topic === topic).map((p) => p.event_id);
      expect(delivered.length).toBe(expected.length * 2); // at least once: the crash duplicated them
      expect(dedupe(delivered).map((d) => d.event_id)).toEqual(expected);
    }
  });

  it('does not skip a row whose transaction commits after a row with a higher seq', async () => {
    const streamPrefix = prefix();
    const topic = `test.commit-order.${randomBytes(3).toString('hex')}.v1`;
    const insert = (db: Db, eventId: string) =>
      db.execute(sql`INSERT INTO outbox (batch_id, messages)
                     VALUES (${randomUUID()}, ${JSON.stringify([{ event_id: eventId, topic, correlation_id: randomUUID(), envelope: { event_id: eventId } }])}::jsonb)`);
    const relay = relayWith({ streamPrefix });
    await relay.runOnce();

    const slow = randomUUID();
    const fast = randomUUID();
    let commit!: () => void;
    let inserted!: () => void;
    const slowInserted = new Promise<void>((resolve) => (inserted = resolve));
    const slowTx = h.database.db.transaction(async (tx) => {
      await insert(tx as unknown as Db, slow); // takes the lower seq...
      inserted();
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await slowInserted;
    await insert(h.database.db, fast); // ...this one a higher seq, and commits first
    await relay.runOnce();
    expect((await consume(redis, `${streamPrefix}${topic}`)).map((d) => d.event_id)).toEqual([fast]);

    commit();
    await slowTx;
    const [seqs] = await rows<{ slow: number; fast: number }>(
      h.database.db,
      sql`SELECT (SELECT seq::int FROM outbox_messages WHERE event_id = ${slow}) AS slow, (SELECT seq::int FROM outbox_messages WHERE event_id = ${fast}) AS fast`,
    );
    expect(seqs!.slow).toBeLessThan(seqs!.fast);
    await relay.runOnce();
    expect((await consume(redis, `${streamPrefix}${topic}`)).map((d) => d.event_id)).toEqual([slow]);
    expect(await outboxBacklog(h.database.db)).toBe(0);
  });

  it('publishes class-level rows (no batch) with an empty batch_id field, partitioned by their class', async () => {
    const streamPrefix = prefix();
    const teacher = await h.teacher('teacher-relay-class');
    const created = await h.api('POST', '/v1/classes', { token: teacher, body: { name: 'Relay class', course_code: 'SV2' } });
    expect(created.status).toBe(201);
    await relayWith({ streamPrefix }).runOnce();
    const stream = `${streamPrefix}${TOPICS.teacherNotification}`;
    const entries = (await redis.xrange(stream, '-', '+')).map(([, fields]) =>
      Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]!]] : []))),
    );
    const mine = entries.filter((f) => JSON.parse(f.envelope!).data.class_id === created.body.class_id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.batch_id).toBe('');
    expect(JSON.parse(mine[0]!.envelope!).metadata.partition_key).toBe(created.body.class_id);
    const [left] = await rows<{ n: number }>(
      h.database.db,
      sql`SELECT count(*)::int AS n FROM outbox WHERE batch_id IS NULL AND published_at IS NULL`,
    );
    expect(left!.n).toBe(0);
  });

  it('leaves /v1/outbox serving every event, published or not', async () => {
    const relay = relayWith({ streamPrefix: prefix() });
    await guestFlow(h);
    await relay.runOnce();
    const [count] = await rows<{ n: number }>(h.database.db, sql`SELECT count(*)::int AS n FROM outbox_messages`);
    expect((await outboxEvents(h)).length).toBe(count!.n);
  });
});
