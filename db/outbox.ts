import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import { ADVISORY_LOCKS } from './locks.ts';
import type { outbox } from './schema.ts';

/** An outbox row not yet published, as the relay sends it. */
export type PendingOutboxRow = Pick<typeof outbox.$inferSelect, 'seq' | 'event_id' | 'topic' | 'batch_id' | 'correlation_id' | 'envelope'>;

/** What one relay pass may do inside its transaction: publish the rows it was given, then mark them. */
export type RelayPassWork = (pending: PendingOutboxRow[], markPublished: (seqs: number[]) => Promise<void>) => Promise<number>;

/** The outbox as the relay sees it (jobs/relay.ts `RelayOutboxPort`): its SQL lives here, its Redis there. */
export interface RelayOutbox {
  /**
   * One transaction under the relay's advisory lock, with up to `batchSize` unpublished rows by
   * seq. Answers 0 without calling `work` when another relay holds the lock or nothing is pending;
   * the lock and the row reads are released at commit.
   */
  pass(batchSize: number, work: RelayPassWork): Promise<number>;
}

/** Rows no relay has published yet: the backlog gauge. */
export async function outboxBacklog(db: Db): Promise<number> {
  const [row] = await rows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`);
  return row?.n ?? 0;
}

export function relayOutbox(db: Db): RelayOutbox {
  return {
    pass: (batchSize, work) =>
      db.transaction(async (tx) => {
        const t = tx as unknown as Db;
        const [lock] = await rows<{ locked: boolean }>(t, sql`SELECT pg_try_advisory_xact_lock(${ADVISORY_LOCKS.relay}) AS locked`);
        if (!lock?.locked) return 0;
        const pending = await rows<PendingOutboxRow>(
          t,
          sql`SELECT seq, event_id, topic, batch_id, correlation_id, envelope FROM outbox
              WHERE published_at IS NULL ORDER BY seq LIMIT ${batchSize}`,
        );
        if (pending.length === 0) return 0;
        const markPublished = async (seqs: number[]) => {
          await t.execute(
            sql`UPDATE outbox SET published_at = now() WHERE seq IN (${sql.join(
              seqs.map((s) => sql`${s}`),
              sql`, `,
            )})`,
          );
        };
        return work(
          pending.map((r) => ({ ...r, seq: Number(r.seq) })),
          markPublished,
        );
      }),
  };
}
