import type { Redis } from 'ioredis';
import { repeatEvery } from './repeat.ts';

/** Where a pass publishes its messages: Redis Streams, Kafka (jobs/kafka-sink.ts), or both. */
export interface OutboxSink {
  name: string;
  /** Resolves only once the transport holds every message; a rejection leaves all their rows unmarked. */
  publish(messages: PendingMessage[]): Promise<void>;
}

export interface RelayOptions {
  /** A connection of the relay's own; it should fail fast (bounded retries), see runtime.ts. Publishes to Redis Streams. */
  redis?: Redis;
  /** Further sinks, after Redis: a row is marked published once every sink has all its messages. */
  sinks?: OutboxSink[];
  /** Put before each topic to name its stream; tests give each file its own. */
  streamPrefix?: string;
  /** Outbox rows (transitions, each with its messages) published per pass. */
  batchSize?: number;
  intervalMs?: number;
  /** Approximate MAXLEN per stream; unset keeps every entry (trim with XTRIM or set this). */
  maxLen?: number;
  onError?: (error: unknown) => void;
  onPublished?: (published: Array<{ seq: number; topic: string }>) => void;
  /** Test seam: runs after XADD and before the rows are marked, where a crash leaves duplicates. */
  beforeMark?: (published: Array<{ seq: number; event_id: string }>) => void | Promise<void>;
}

/** One message of an outbox row: the row's `seq` and its place `idx` in the row (from 1) name it. */
export interface PendingMessage {
  seq: number;
  idx: number;
  event_id: string;
  topic: string;
  /** Null for class-level events (class notifications). */
  batch_id: string | null;
  correlation_id: string;
  envelope: unknown;
}

/**
 * The outbox's side of a pass, written in db/outbox.ts (`relayOutbox`): one transaction under an
 * advisory lock that hands `work` the messages of up to `batchSize` unpublished rows, by seq and in
 * each row's order, and a way to mark rows published. Declared here so this adapter knows the port,
 * not the database.
 */
export interface RelayOutboxPort {
  pass(
    batchSize: number,
    work: (pending: PendingMessage[], markPublished: (seqs: number[]) => Promise<void>) => Promise<number>,
  ): Promise<number>;
}

/**
 * Publishes outbox messages to its sinks: Redis Streams (one stream per topic, each entry carrying
 * the event id and the JSON envelope) and/or Kafka (jobs/kafka-sink.ts). An outbox row holds the
 * messages of one transition; the relay fans them out, each with its own event id, topic and key,
 * in the row's order. At least once: rows are marked published only after every sink took all their
 * messages (XADD succeeded, the broker acknowledged), so a crash
 * in between publishes them again (consumers dedupe by event_id) and nothing is lost.
 *
 * Commit order, honestly: `seq` is taken when a row is inserted, not when its transaction commits,
 * so seq 9 may become visible after seq 10. A cursor ("seq > last") would skip 9 for good. The relay
 * keeps no cursor: its work is every row with `published_at IS NULL`, so 9 is published by the next
 * pass, after 10: in the order rows became visible, which is commit order. Rows of one batch never
 * interleave: each transition of a batch is written under the version guard of the previous one,
 * so its row gets a higher seq and commits later. Within one pass, rows go out by seq and each
 * row's messages in order.
 *
 * The pass runs in one transaction under an advisory lock, so two relays never publish the same
 * rows concurrently or out of order; the lock and row reads are released at commit.
 */
export function createRelay(outbox: RelayOutboxPort, options: RelayOptions) {
  const prefix = options.streamPrefix ?? '';
  const batchSize = options.batchSize ?? 200;
  const intervalMs = options.intervalMs ?? 250;

  async function publishToRedis(redis: Redis, pending: PendingMessage[]): Promise<void> {
    const multi = redis.multi();
    for (const row of pending) {
      const trim = options.maxLen === undefined ? [] : ['MAXLEN', '~', String(options.maxLen)];
      multi.xadd(
        `${prefix}${row.topic}`,
        ...(trim as []),
        '*',
        'event_id',
        row.event_id,
        'event_type',
        row.topic,
        'batch_id',
        row.batch_id ?? '',
        'correlation_id',
        row.correlation_id,
        'seq',
        String(row.seq),
        'idx',
        String(row.idx),
        'envelope',
        JSON.stringify(row.envelope),
      );
    }
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw failed?.[0] ?? new Error('XADD transaction was discarded');
  }

  const sinks: OutboxSink[] = [
    ...(options.redis ? [{ name: 'redis', publish: (messages: PendingMessage[]) => publishToRedis(options.redis!, messages) }] : []),
    ...(options.sinks ?? []),
  ];

  /** Every sink in turn: when one fails, the rows stay unmarked and the next pass sends them to all again. */
  async function publish(pending: PendingMessage[]): Promise<void> {
    for (const sink of sinks) await sink.publish(pending);
  }

  /** One locked pass of up to batchSize rows; answers how many rows and messages it published (none if another relay holds the lock). */
  async function passOnce(): Promise<{ rows: number; messages: number }> {
    let rows = 0;
    const messages = await outbox.pass(batchSize, async (published, markPublished) => {
      await publish(published);
      await options.beforeMark?.(published);
      const seqs = [...new Set(published.map((m) => m.seq))];
      await markPublished(seqs);
      rows = seqs.length;
      options.onPublished?.(published);
      return published.length;
    });
    return { rows, messages };
  }

  /** Publishes until nothing unpublished is left; answers how many messages went out. */
  async function runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows, messages } = await passOnce();
      total += messages;
      if (rows < batchSize || loop.stopped) return total;
    }
  }

  const loop = repeatEvery(intervalMs, runOnce, (error) => options.onError?.(error));
  return {
    runOnce,
    start: () => loop.start(),
    stop: () => loop.stop(),
  };
}

export type Relay = ReturnType<typeof createRelay>;
