import { type ClassInboundEnvelope, TOPICS } from '../machines/events.ts';
import type { Db } from '../db/client.ts';
import { UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import {
  addMemberships,
  classById,
  existingClasses,
  processedEvent,
  recordProcessedEvent,
  removeMemberships,
  studentById,
  updateClass,
  updateStudent,
  upsertClass,
  upsertStudent,
} from '../db/roster.ts';

/**
 * The real class service's class and student events, applied to this service's roster so that
 * suggestions naming its students are accepted. Not batch events: no machine, one transaction per
 * event, idempotent by event id (the same id again answers the first answer; with another body, 422).
 */

export interface ClassEventBody {
  event_id: string;
  event_type: string;
  class_id: string | null;
  student_id: string | null;
  duplicate: boolean;
}

export type ClassEventOutcome =
  | { kind: 'applied' | 'duplicate'; body: ClassEventBody }
  | { kind: 'key_reused'; event_id: string }
  | { kind: 'not_found'; what: string }
  | { kind: 'conflict'; detail: string };

class Refusal extends Error {
  constructor(readonly outcome: Exclude<ClassEventOutcome, { kind: 'applied' | 'duplicate' }>) {
    super(outcome.kind);
  }
}

const transaction = <T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> => db.transaction((tx) => work(tx as unknown as Db));

async function requireClasses(db: Db, classIds: string[]): Promise<void> {
  const found = await existingClasses(db, classIds);
  const missing = classIds.filter((id) => !found.some((c) => c.id === id));
  // Class and student topics are not ordered against each other: a student may come before its class.
  if (missing.length > 0)
    throw new Refusal({
      kind: 'not_found',
      what: `Class ${missing.join(', ')} (not known yet: send the event again after its huleedu.class.created.v1)`,
    });
}

async function applyToRoster(tx: Db, envelope: ClassInboundEnvelope): Promise<{ class_id: string | null; student_id: string | null }> {
  switch (envelope.event_type) {
    case TOPICS.classCreated: {
      const d = envelope.data;
      await upsertClass(tx, {
        id: d.class_id,
        owner_id: d.user_id,
        name: d.class_designation,
        course_code: d.course_codes[0]!,
        course_codes: d.course_codes,
      });
      return { class_id: d.class_id, student_id: null };
    }
    case TOPICS.classUpdated: {
      const d = envelope.data;
      if (!(await classById(tx, d.class_id))) throw new Refusal({ kind: 'not_found', what: `Class ${d.class_id}` });
      await updateClass(tx, d.class_id, {
        ...(d.class_designation ? { name: d.class_designation } : {}),
        ...(d.course_codes ? { course_code: d.course_codes[0]!, course_codes: d.course_codes } : {}),
      });
      return { class_id: d.class_id, student_id: null };
    }
    case TOPICS.studentCreated: {
      const d = envelope.data;
      const classIds = [...new Set(d.class_ids)];
      await requireClasses(tx, classIds);
      await upsertStudent(tx, {
        id: d.student_id,
        class_id: classIds[0] ?? null,
        first_name: d.first_name,
        last_name: d.last_name,
        legal_full_name: null,
        email: d.student_email === null ? null : d.student_email.toLowerCase(),
        created_by_user_id: d.created_by_user_id,
      });
      await addMemberships(
        tx,
        classIds.map((class_id) => ({ class_id, student_id: d.student_id })),
      );
      return { class_id: classIds[0] ?? null, student_id: d.student_id };
    }
    case TOPICS.studentUpdated: {
      const d = envelope.data;
      if (!(await studentById(tx, d.student_id))) throw new Refusal({ kind: 'not_found', what: `Student ${d.student_id}` });
      const added = [...new Set(d.add_class_ids ?? [])];
      await requireClasses(tx, added);
      await updateStudent(tx, d.student_id, {
        ...(d.first_name ? { first_name: d.first_name } : {}),
        ...(d.last_name === undefined || d.last_name === null ? {} : { last_name: d.last_name }),
        ...(d.student_email === undefined ? {} : { email: d.student_email === null ? null : d.student_email.toLowerCase() }),
      });
      await addMemberships(
        tx,
        added.map((class_id) => ({ class_id, student_id: d.student_id })),
      );
      await removeMemberships(tx, d.student_id, d.remove_class_ids ?? []);
      return { class_id: null, student_id: d.student_id };
    }
  }
}

export async function applyClassEvent(db: Db, envelope: ClassInboundEnvelope, fingerprint: string): Promise<ClassEventOutcome> {
  const earlier = await processedEvent(db, envelope.event_id);
  if (earlier) return earlierAnswer(envelope.event_id, earlier, fingerprint);
  try {
    return await transaction(db, async (tx) => {
      const ids = await applyToRoster(tx, envelope);
      const body: ClassEventBody = { event_id: envelope.event_id, event_type: envelope.event_type, ...ids, duplicate: false };
      if (!(await recordProcessedEvent(tx, envelope.event_id, fingerprint, { ...body, duplicate: true }))) {
        // Applied concurrently under the same id: this attempt's writes roll back.
        throw new Refusal({ kind: 'key_reused', event_id: envelope.event_id });
      }
      return { kind: 'applied' as const, body };
    });
  } catch (error) {
    if (error instanceof Refusal) {
      if (error.outcome.kind === 'key_reused') {
        const now = await processedEvent(db, envelope.event_id);
        if (now) return earlierAnswer(envelope.event_id, now, fingerprint);
      }
      return error.outcome;
    }
    if (pgErrorOf(error)?.code === UNIQUE_VIOLATION)
      return { kind: 'conflict', detail: 'Another student of the class already has this e-mail.' };
    throw error;
  }
}

function earlierAnswer(
  eventId: string,
  earlier: { batch_id: string | null; fingerprint: string | null; response: unknown },
  fingerprint: string,
): ClassEventOutcome {
  if (earlier.batch_id !== null || earlier.fingerprint !== fingerprint) return { kind: 'key_reused', event_id: eventId };
  return { kind: 'duplicate', body: earlier.response as ClassEventBody };
}
