import type { Db } from '../db/client.ts';
import { UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import { recordSlot } from '../db/slots.ts';
import type { SlotInboundEnvelope } from '../machines/events.ts';

/**
 * EssaySlotAssignedV1: the essay lifecycle service tells which uploaded file became which essay.
 * Not a transition of the batch: it changes no state, only what the teacher's review shows as the
 * essay's file name (the matcher sends `filename: ""`). Idempotent by event id, as every inbound event.
 */
export interface SlotEventBody {
  event_id: string;
  event_type: string;
  batch_id: string;
  essay_id: string;
  duplicate: boolean;
}

export type SlotEventOutcome =
  | { kind: 'applied' | 'duplicate'; body: SlotEventBody }
  | { kind: 'key_reused'; event_id: string }
  | { kind: 'not_found' };

export async function applySlotAssigned(db: Db, envelope: SlotInboundEnvelope, fingerprint: string): Promise<SlotEventOutcome> {
  const d = envelope.data;
  const body: SlotEventBody = {
    event_id: envelope.event_id,
    event_type: envelope.event_type,
    batch_id: d.batch_id,
    essay_id: d.essay_id,
    duplicate: false,
  };
  const slot = {
    essay_id: d.essay_id,
    batch_id: d.batch_id,
    file_upload_id: d.file_upload_id,
    text_storage_id: d.text_storage_id,
    original_file_name: d.original_file_name,
  };
  try {
    const written = await recordSlot(db, envelope.event_id, fingerprint, slot, body);
    if (written.kind === 'no_batch') return { kind: 'not_found' };
    if (written.kind === 'written') return { kind: 'applied', body };
    if (written.fingerprint !== null && written.fingerprint !== fingerprint) return { kind: 'key_reused', event_id: envelope.event_id };
    return { kind: 'duplicate', body: { ...(written.response as SlotEventBody), duplicate: true } };
  } catch (error) {
    // The same event delivered twice at once: the second insert of its id loses; answer as a duplicate.
    if (pgErrorOf(error)?.code !== UNIQUE_VIOLATION) throw error;
    return applySlotAssigned(db, envelope, fingerprint);
  }
}
