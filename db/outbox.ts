import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import { ADVISORY_LOCKS } from './locks.ts';
import type { OutboxMessage } from './transition-types.ts';

/** One message of an outbox row not yet published, as the relay sends it: `seq` and `idx` (from 1) name it. */
export interface PendingOutboxMessage extends OutboxMessage {
  seq: number;
  idx: number;
  /** Null for class-level events (class notifications). */
  batch_id: string | null;
}

/** What one relay pass may do inside its transaction: publish the messages it was given, then mark their rows. */
export type RelayPassWork = (pending: PendingOutboxMessage[], markPublished: (seqs: number[]) => Promise<void>) => Promise<number>;

/** The outbox as the relay sees it (jobs/relay.ts `RelayOutboxPort`): its SQL lives here, its Redis there. */
export interface RelayOutbox {
  /**
   * One transaction under the relay's advisory lock, with the messages of up to `batchSize`
   * unpublished rows (transitions) by seq, each row's messages in order. Answers 0 without calling
   * `work` when another relay holds the lock or nothing is pending; the lock and the row reads are
   * released at commit.
   */
  pass(batchSize: number, work: RelayPassWork): Promise<number>;
}

/** Messages no relay has published yet: the backlog gauge. */
export async function outboxBacklog(db: Db): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`SELECT coalesce(sum(jsonb_array_length(messages)), 0)::int AS n FROM outbox WHERE published_at IS NULL`,
  );
  return row?.n ?? 0;
}

/** The messages of outbox rows, fanned out in order (seq, then their place in the row). */
export function fanOut(found: Array<{ seq: number | string; batch_id: string | null; messages: OutboxMessage[] }>): PendingOutboxMessage[] {
  return found.flatMap((row) =>
    row.messages.map((m, i) => ({
      seq: Number(row.seq),
      idx: i + 1,
      batch_id: row.batch_id,
      event_id: m.event_id,
      topic: m.topic,
      correlation_id: m.correlation_id,
      envelope: m.envelope,
    })),
  );
}

export function relayOutbox(db: Db): RelayOutbox {
  return {
    pass: (batchSize, work) =>
      db.transaction(async (tx) => {
        const t = tx as unknown as Db;
        const [lock] = await rows<{ locked: boolean }>(t, sql`SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCKS.relay}) AS locked`);
        if (!lock?.locked) return 0;
        const pending = await rows<{ seq: number; batch_id: string | null; messages: OutboxMessage[] }>(
          t,
          sql`SELECT seq, batch_id, messages FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ${batchSize}`,
        );
        if (pending.length === 0) return 0;
        const markPublished = async (seqs: number[]) => {
          await t.execute(sql`UPDATE outbox SET published_at = now() WHERE seq = ANY(${`{${seqs.join(',')}}`}::bigint[])`);
        };
        return work(fanOut(pending), markPublished);
      }),
  };
}
