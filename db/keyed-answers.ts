import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';

/**
 * First answers of requests sent with an Idempotency-Key that are not events of a batch (creating a
 * class, adding students). They share processed_events with the batch commands, keyed by the
 * scoped key; `batch_id` holds the id of what the request made (the class), a uuid like a batch's.
 */

export async function keyedAnswer(db: Db, key: string): Promise<{ response: unknown; fingerprint: string | null } | null> {
  const [row] = await rows<{ response: unknown; fingerprint: string | null }>(
    db,
    sql`SELECT response, fingerprint FROM processed_events WHERE event_id = ${key}`,
  );
  return row ?? null;
}

/** Records the first answer in the transaction that made it; a concurrent first answer violates processed_events_pkey. */
export async function rememberAnswer(db: Db, key: string, madeId: string, response: unknown, fingerprint: string): Promise<void> {
  await db.execute(
    sql`INSERT INTO processed_events (event_id, batch_id, response, fingerprint) VALUES (${key}, ${madeId}::uuid, ${JSON.stringify(response)}::jsonb, ${fingerprint})`,
  );
}
