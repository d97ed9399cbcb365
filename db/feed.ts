import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import { ADVISORY_LOCKS } from './locks.ts';

export interface FeedRow {
  position: number;
  topic: string;
  event_id: string;
  /** Null for class-level events. */
  batch_id: string | null;
  created_at: string;
  envelope: unknown;
}

/**
 * The outbound feed in commit order. Rows committed since the last read get their positions first,
 * under a lock, so every reader sees positions grow in the order rows became visible. Raw SQL: the
 * position hand-out is an UPDATE … FROM a window over the unpositioned rows.
 */
export async function feedAfter(db: Db, after: number, limit: number): Promise<FeedRow[]> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(sql`SELECT pg_advisory_xact_lock(${sql.raw(String(ADVISORY_LOCKS.outboxPositions))})`);
    await t.execute(sql`UPDATE outbox o SET position = p.position
      FROM (SELECT seq, (SELECT coalesce(max(position), 0) FROM outbox) + row_number() OVER (ORDER BY seq) AS position
            FROM outbox WHERE position IS NULL) p
      WHERE o.seq = p.seq`);
    return rows<FeedRow>(
      t,
      sql`SELECT position, topic, event_id, batch_id, created_at, envelope FROM outbox
          WHERE position > ${after} ORDER BY position LIMIT ${limit}`,
    );
  });
}
