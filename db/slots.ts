import { eq } from 'drizzle-orm';
import { type Db, all } from './client.ts';
import { batches, essaySlots, processedEvents } from './schema.ts';

export type SlotRecord = Omit<typeof essaySlots.$inferInsert, 'assigned_at'>;

export type SlotWrite = { kind: 'written' } | { kind: 'duplicate'; response: unknown; fingerprint: string | null } | { kind: 'no_batch' };

/**
 * Records one slot assignment, once per event id, in one transaction: the slot (a later assignment
 * of the same essay replaces the file), and the event id with its answer.
 */
export async function recordSlot(db: Db, eventId: string, fingerprint: string, slot: SlotRecord, response: unknown): Promise<SlotWrite> {
  return db.transaction(async (tx) => {
    const [prior] = await all(tx as unknown as Db, tx.select().from(processedEvents).where(eq(processedEvents.event_id, eventId)));
    if (prior) return { kind: 'duplicate', response: prior.response, fingerprint: prior.fingerprint };
    const [batch] = await all(
      tx as unknown as Db,
      tx.select({ id: batches.batch_id }).from(batches).where(eq(batches.batch_id, slot.batch_id)),
    );
    if (!batch) return { kind: 'no_batch' };
    await tx
      .insert(essaySlots)
      .values(slot)
      .onConflictDoUpdate({
        target: essaySlots.essay_id,
        set: { file_upload_id: slot.file_upload_id, text_storage_id: slot.text_storage_id, original_file_name: slot.original_file_name },
      });
    await tx.insert(processedEvents).values({ event_id: eventId, batch_id: slot.batch_id, fingerprint, response });
    return { kind: 'written' };
  });
}
