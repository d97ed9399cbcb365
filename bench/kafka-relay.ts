import { performance } from 'node:perf_hooks';
import { type Admin, Partitioners, type Producer, type ProducerBatch } from 'kafkajs';
import type postgres from 'postgres';
import { Registry } from 'prom-client';
import type { Service } from '../app/service.ts';
import { fanOut } from '../db/outbox.ts';
import type { OutboxMessage } from '../db/transition-types.ts';
import { createKafkaClient } from '../jobs/kafka-client.ts';
import { kafkaSink } from '../jobs/kafka-sink.ts';
import { type KafkaTransport, startKafkaTransport } from '../jobs/kafka.ts';
import { type OutboxSink, type PendingMessage, createRelay } from '../jobs/relay.ts';
import { mockClusterOrSkip } from './kafka.ts';
import { closedLoop } from './load.ts';
import { type BatchPool, directTransport, eventMix } from './mix.ts';
import { type Figures, summarise } from './stats.ts';

/** The relay's default pass size (jobs/relay.ts); the bare producer sends the same chunks. */
const PASS_ROWS = 200;

export interface KafkaRelayRig {
  /** One run of each side on the same rows, in an order that alternates by round: the relay (KR) and the bare producer (KR-bare). */
  run(round: number): Promise<{ relay: Figures; bare: Figures }>;
  close(): Promise<void>;
}

interface RigOptions {
  /** The bench's own postgres.js client: fills, resets and checks the outbox around the timing. */
  sql: postgres.Sql;
  /** Writes the outbox rows (the mix, in-process) and owns the relay's outbox port. */
  service: Service;
  pool: BatchPool;
  essays: number;
  /** Outbox messages to publish per run (BENCH_RELAY_ROWS; a row holds a transition's messages). */
  messages: number;
  log: (message: string) => void;
}

/**
 * KR: the service's outbox relay with its Kafka sink (jobs/relay.ts, jobs/kafka-sink.ts, the
 * producer of jobs/kafka.ts) draining the outbox rows that hold at least `messages` unpublished messages
 * to librdkafka's mock cluster, timed from the first pass until the last one committed; every row
 * must then have `published_at` and every message must be on its topic (the topics' high
 * watermarks grow by exactly the number of messages).
 *
 * The rows are the service's own: the event mix at `essays` essays, applied in-process until the
 * outbox holds enough, once. Each run puts the same rows back to unpublished (and sets aside any
 * other pending row, so the relay drains exactly these); a consumer would dedupe the repeats by
 * event_id, as after a relay crash.
 *
 * KR-bare, the baseline: one kafkajs producer (same partitioner, acks=-1) sending the very messages
 * the sink builds for those rows (topic, key, value, headers; built before the clock by the sink
 * itself against a recording producer), in the relay's chunks of 200 rows by seq, one `sendBatch`
 * each, one after another as the relay's passes go. KR ÷ KR-bare is what the relay adds on top of
 * the transport: the locked read, the JSON, the mark and the commit per pass.
 *
 * Null (the point is skipped) when the mock cluster cannot start.
 */
export async function startKafkaRelayRig(options: RigOptions): Promise<KafkaRelayRig | null> {
  const { sql, service, log } = options;
  const cluster = await mockClusterOrSkip('KR', log);
  if (!cluster) return null;
  const closers: Array<() => Promise<unknown>> = [() => cluster.stop()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((error: unknown) => log(`KR cleanup: ${String(error)}`));
  };
  try {
    // The service's own Kafka side, as `ROLE=worker` with `OUTBOX_RELAY=kafka` composes it, without the consumer.
    const transport: KafkaTransport = await startKafkaTransport(service, {
      brokers: [cluster.bootstrap],
      clientId: 'bench-relay',
      groupId: 'bench-relay',
      deadLetterTopic: 'bench.dead-letter.v1',
      sessionTimeoutMs: 10_000,
      consume: false,
      registry: new Registry(),
      log: (level, message) => (level === 'error' ? log(`KR: ${message}`) : undefined),
    });
    closers.push(() => transport.stop());
    const kafka = createKafkaClient({ brokers: [cluster.bootstrap], clientId: 'bench-relay-bare' });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());

    let filled: Filled | null = null;
    return {
      async run(round) {
        filled ??= await fill(options, transport, producer, admin);
        const f = filled;
        const relay = () => relayRun(sql, service, transport, admin, f);
        const bare = () => bareRun(producer, admin, f);
        if (round % 2 === 0) {
          const r = await relay();
          return { relay: r, bare: await bare() };
        }
        const b = await bare();
        return { relay: await relay(), bare: b };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

interface Filled {
  /** The rows are those with lo < seq <= hi; `count` is their messages. */
  lo: string;
  hi: string;
  count: number;
  topics: string[];
  /** The sink's own produce requests for those messages, in the relay's passes of 200 rows. */
  batches: ProducerBatch[];
}

/** The service writes (the mix, in-process, 8 clients) until the outbox has `messages` new messages; then both producers meet every topic once. */
async function fill(options: RigOptions, transport: KafkaTransport, producer: Producer, admin: Admin): Promise<Filled> {
  const { sql, service, pool, essays, messages, log } = options;
  const t0 = performance.now();
  // Other points leave their rows unpublished (the bench runs no relay): set them aside for good.
  await sql`UPDATE outbox SET published_at = now() WHERE published_at IS NULL`;
  const [{ lo }] = (await sql`SELECT coalesce(max(seq), 0)::text AS lo FROM outbox`) as unknown as [{ lo: string }];
  const pending = async () =>
    (
      (await sql`SELECT coalesce(sum(jsonb_array_length(messages)), 0)::int AS n FROM outbox WHERE seq > ${lo}`) as unknown as [
        { n: number },
      ]
    )[0].n;
  // About 34 outbox messages per batch of 30 essays (one association-updated per decided essay).
  await pool.ensure(Math.ceil(messages / essays) + 16);
  const mix = eventMix(pool, directTransport(service), essays);
  while ((await pending()) < messages) await closedLoop(8, 250, mix);
  const stored = await sql<Array<{ seq: string; batch_id: string | null; messages: OutboxMessage[] }>>`
    SELECT seq::text AS seq, batch_id, messages FROM outbox WHERE seq > ${lo} ORDER BY outbox.seq`;
  const all: PendingMessage[] = fanOut(stored);
  if (typeof all[0]?.envelope !== 'object') throw new Error('KR: the envelopes came back as text, not parsed jsonb');
  const hi = stored.at(-1)!.seq;
  const topics = [...new Set(all.map((r) => r.topic))].sort();
  // The sink itself builds the bare producer's requests, so both send byte for byte the same messages.
  const batches: ProducerBatch[] = [];
  const recorder = kafkaSink({ sendBatch: async (batch: ProducerBatch) => void batches.push(batch) } as unknown as Producer);
  for (let i = 0; i < stored.length; i += PASS_ROWS) await recorder.publish(fanOut(stored.slice(i, i + PASS_ROWS)));
  // Topic creation and each producer's first metadata fetch stay out of the timing: one message per topic each.
  const firstOfEach = topics.map((t) => all.find((r) => r.topic === t)!);
  await admin.createTopics({ topics: topics.map((topic) => ({ topic })), waitForLeaders: true }).catch(() => false);
  await transport.sink.publish(firstOfEach);
  const warm: ProducerBatch[] = [];
  await kafkaSink({ sendBatch: async (batch: ProducerBatch) => void warm.push(batch) } as unknown as Producer).publish(firstOfEach);
  await producer.sendBatch(warm[0]!);
  log(
    `  KR: ${all.length} outbox messages (${stored.length} rows) on ${topics.length} topics, written by the mix at ${essays} essays ` +
      `(${Math.round(performance.now() - t0)} ms, untimed)`,
  );
  return { lo, hi, count: all.length, topics, batches };
}

async function highWatermarks(admin: Admin, topics: string[]): Promise<number> {
  let sum = 0;
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) sum += Number(p.high);
  return sum;
}

async function delivered(admin: Admin, filled: Filled, before: number, what: string): Promise<void> {
  const landed = (await highWatermarks(admin, filled.topics)) - before;
  if (landed !== filled.count) throw new Error(`${what}: ${landed} messages on the topics, expected ${filled.count}`);
}

const figures = (count: number, elapsedMs: number, latencies: number[]): Figures => ({
  ...summarise({ ops: count, elapsedMs, latencies }),
  total_ms: elapsedMs,
  count,
});

/** The relay drains the rows, put back to unpublished; p50/p99 are per pass (200 rows). */
async function relayRun(sql: postgres.Sql, service: Service, transport: KafkaTransport, admin: Admin, filled: Filled): Promise<Figures> {
  const { lo, hi } = filled;
  await sql`UPDATE outbox SET published_at = now() WHERE published_at IS NULL`;
  await sql`UPDATE outbox SET published_at = NULL WHERE seq > ${lo} AND seq <= ${hi}`;
  // The previous run's updates leave dead index entries in the partial index the relay reads; every run starts clean.
  await sql`VACUUM (ANALYZE) outbox`;
  const before = await highWatermarks(admin, filled.topics);
  const latencies: number[] = [];
  const t0 = performance.now();
  let last = t0;
  // The time inside the service's Kafka sink (the JSON and the produce request), the rest being the pass's database work.
  let sinkMs = 0;
  const sink: OutboxSink = {
    name: transport.sink.name,
    async publish(rows) {
      const t = performance.now();
      await transport.sink.publish(rows);
      sinkMs += performance.now() - t;
    },
  };
  const relay = createRelay(service.outboxRelay(), {
    sinks: [sink],
    batchSize: PASS_ROWS,
    onPublished() {
      const now = performance.now();
      latencies.push(now - last);
      last = now;
    },
  });
  const published = await relay.runOnce();
  const elapsedMs = performance.now() - t0;
  if (published !== filled.count) throw new Error(`KR: the relay published ${published} messages, expected ${filled.count}`);
  const [{ left }] = (await sql`
    SELECT count(*)::int AS left FROM outbox WHERE seq > ${lo} AND seq <= ${hi} AND published_at IS NULL`) as unknown as [{ left: number }];
  if (left !== 0) throw new Error(`KR: ${left} rows still unpublished after the relay's run`);
  await delivered(admin, filled, before, 'KR');
  return { ...figures(filled.count, elapsedMs, latencies), sink_ms: sinkMs };
}

/** The bare producer sends the sink's requests one after another; p50/p99 are per request (the messages of 200 rows). */
async function bareRun(producer: Producer, admin: Admin, filled: Filled): Promise<Figures> {
  const before = await highWatermarks(admin, filled.topics);
  const latencies: number[] = [];
  const t0 = performance.now();
  for (const batch of filled.batches) {
    const t = performance.now();
    await producer.sendBatch(batch);
    latencies.push(performance.now() - t);
  }
  const elapsedMs = performance.now() - t0;
  await delivered(admin, filled, before, 'KR-bare');
  return figures(filled.count, elapsedMs, latencies);
}
