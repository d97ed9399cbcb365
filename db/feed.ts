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
 * The outbound feed in commit order, a message at a time. Rows committed since the last read get
 * their positions first, under a lock, so every reader sees positions grow in the order rows became
 * visible: a row's first message takes the position after the last one handed out, its n-th message
 * the n-th after that. Raw SQL: the hand-out is an UPDATE … FROM a running sum over the unpositioned
 * rows, and the read fans each row's messages out (jsonb_array_elements WITH ORDINALITY), starting
 * at the row that holds position `after` + 1.
 */
export async function feedAfter(db: Db, after: number, limit: number): Promise<FeedRow[]> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    await t.execute(sql`SELECT pg_advisory_xact_lock(${sql.raw(String(ADVISORY_LOCKS.outboxPositions))})`);
    await t.execute(sql`UPDATE outbox o SET position = p.position
      FROM (SELECT seq,
              coalesce((SELECT position + jsonb_array_length(messages) FROM outbox WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1), 1)
                + sum(jsonb_array_length(messages)) OVER (ORDER BY seq) - jsonb_array_length(messages) AS position
            FROM outbox WHERE position IS NULL) p
      WHERE o.seq = p.seq`);
    return rows<FeedRow>(
      t,
      sql`SELECT o.position + m.idx - 1 AS position, m.message->>'topic' AS topic, m.message->>'event_id' AS event_id, o.batch_id,
            o.created_at, m.message->'envelope' AS envelope
          FROM outbox o CROSS JOIN LATERAL jsonb_array_elements(o.messages) WITH ORDINALITY AS m(message, idx)
          WHERE o.position >= coalesce((SELECT max(position) FROM outbox WHERE position <= ${after}), 0)
            AND o.position + m.idx - 1 > ${after}
          ORDER BY o.position, m.idx LIMIT ${limit}`,
    );
  });
}
