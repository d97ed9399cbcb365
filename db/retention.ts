import { sql } from 'drizzle-orm';
import { type Db, rows } from './client.ts';
import { batchActorId } from './transition-types.ts';

/** A batch old enough for retention: its state and pipeline decide in app/retention.ts whether it is finished. */
export interface RetentionCandidate {
  batch_id: string;
  state: string;
  updated_at: string;
  pipeline_state: unknown;
}

/**
 * Whether batch `b` is purged as it stands: a `purgedEvent` history row at its current version (a
 * transition since makes it a candidate again) with no history row after it that kept a machine
 * input (a refusal or a late timer since: no new version, but the event it kept may name students
 * or give a reason), and no essay slot with a file name not yet `redacted` (EssaySlotAssignedV1 is
 * no transition: a late one writes a file name without a new version).
 */
function purgedAtVersion(purgedEvent: string, redacted: string) {
  return sql`EXISTS (SELECT 1 FROM history h WHERE h.batch_id = b.batch_id AND h.event_type = ${purgedEvent} AND h.version = b.version
      AND NOT EXISTS (SELECT 1 FROM history l WHERE l.batch_id = b.batch_id AND l.seq > h.seq AND l.machine_input IS NOT NULL))
    AND NOT EXISTS (SELECT 1 FROM essay_slots e WHERE e.batch_id = b.batch_id AND e.original_file_name NOT IN ('', ${redacted}))`;
}

/** Batches in one of `states`, unchanged since before `cutoff`, not purged as they stand. */
export function retentionCandidates(
  db: Db,
  cutoff: string,
  states: readonly string[],
  purgedEvent: string,
  redacted: string,
): Promise<RetentionCandidate[]> {
  return rows<RetentionCandidate>(
    db,
    sql`SELECT b.batch_id, b.state, b.updated_at, s.snapshot->'context'->'pipeline_state' AS pipeline_state
      FROM batches b JOIN actor_snapshots s ON s.actor_id = 'batch:' || b.batch_id
      WHERE b.updated_at < ${cutoff}::timestamptz
        AND b.state IN (SELECT jsonb_array_elements_text(${JSON.stringify(states)}::jsonb))
        AND NOT (${purgedAtVersion(purgedEvent, redacted)})
      ORDER BY b.updated_at, b.batch_id`,
  );
}

/** Every stored document of one batch that may hold personal data, as retention reads and rewrites them. */
export interface BatchPersonalRows {
  batch: { batch_id: string; state: string; version: number; updated_at: string; correlation_id: string; pipeline_state: unknown };
  /** Whether the batch is purged as it stands (a purge row at its current version, no file name left). */
  purged: boolean;
  actor_snapshot: unknown;
  /**
   * The association snapshots (essay_student_associations.snapshot), apart from the row's projection
   * columns below: each is redacted and counted as a document of its own, as the report names them.
   */
  association_snapshots: Array<{ essay_id: string; snapshot: unknown }>;
  essay_student_associations: Array<{ id: string; filename: string | null; match_reasons: unknown; suggestions: unknown }>;
  essay_slots: Array<{ essay_id: string; original_file_name: string }>;
  history: Array<{ seq: number; detail: unknown; machine_input: unknown }>;
  outbox: Array<{ seq: number; idx: number; envelope: unknown }>;
  processed_events: Array<{ event_id: string; response: unknown }>;
}

/** The rewritten documents (only those that changed) and the history row that records the purge. */
export interface BatchRedaction {
  actor_snapshot: unknown | undefined;
  association_snapshots: Array<{ essay_id: string; snapshot: unknown }>;
  essay_student_associations: Array<{ id: string; filename: string | null; match_reasons: unknown; suggestions: unknown }>;
  essay_slots: Array<{ essay_id: string; original_file_name: string }>;
  history: Array<{ seq: number; detail: unknown; machine_input: unknown }>;
  outbox: Array<{ seq: number; idx: number; envelope: unknown }>;
  processed_events: Array<{ event_id: string; response: unknown }>;
  record: { event_type: string; actor: string; outcome: string; at: string; detail: unknown } | null;
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
/** A nullable jsonb column: null stays SQL NULL, not the JSON null. */
const jsonOrNull = (value: unknown) => (value === null || value === undefined ? sql`NULL` : json(value));

/**
 * One batch's purge, in one transaction: locks the batch's snapshot row (a transition of the batch
 * waits, or is waited for), reads every document that may hold personal data, asks `redact` what
 * they become, and writes the changed ones and the purge's history row. `redact` answering null
 * (the batch is no longer a candidate, or a dry run) writes nothing. Only personal columns change:
 * no state, version, id, time or decision column is written, and history rows keep every column
 * but `detail` and `machine_input`.
 */
export async function purgeBatchPersonalData<T>(
  db: Db,
  batchId: string,
  marks: { purgedEvent: string; redacted: string },
  redact: (found: BatchPersonalRows) => { write: BatchRedaction | null; answer: T },
): Promise<T | null> {
  return db.transaction(async (transaction) => {
    const tx = transaction as unknown as Db;
    // The lock first, then the reads in statements of their own: under READ COMMITTED a statement
    // that waited for the lock would still see, in its other columns, what was there before the
    // holder committed (a concurrent purge's history row among them).
    const locked = await rows(tx, sql`SELECT 1 FROM actor_snapshots WHERE actor_id = ${batchActorId(batchId)} FOR UPDATE`);
    if (locked.length === 0) return null;
    const [batch] = await rows<BatchPersonalRows['batch'] & { snapshot: unknown; purged: boolean }>(
      tx,
      sql`SELECT b.batch_id, b.state, b.version, b.updated_at, b.correlation_id, s.snapshot,
            s.snapshot->'context'->'pipeline_state' AS pipeline_state,
            ${purgedAtVersion(marks.purgedEvent, marks.redacted)} AS purged
          FROM actor_snapshots s JOIN batches b ON s.actor_id = 'batch:' || b.batch_id
          WHERE s.actor_id = ${batchActorId(batchId)}`,
    );
    if (!batch) return null;
    const { snapshot, purged, ...head } = batch;
    const found: BatchPersonalRows = {
      batch: head,
      purged,
      actor_snapshot: snapshot,
      association_snapshots: await rows(
        tx,
        sql`SELECT essay_id, snapshot FROM essay_student_associations WHERE batch_id = ${batchId} AND snapshot IS NOT NULL ORDER BY essay_id`,
      ),
      essay_student_associations: await rows(
        tx,
        sql`SELECT id, filename, match_reasons, suggestions FROM essay_student_associations WHERE batch_id = ${batchId} ORDER BY id`,
      ),
      essay_slots: await rows(tx, sql`SELECT essay_id, original_file_name FROM essay_slots WHERE batch_id = ${batchId} ORDER BY essay_id`),
      history: await rows(
        tx,
        sql`SELECT seq, detail, machine_input FROM history
            WHERE batch_id = ${batchId} AND (detail IS NOT NULL OR machine_input IS NOT NULL) ORDER BY seq`,
      ),
      outbox: await rows(tx, sql`SELECT seq, idx, envelope FROM outbox_messages WHERE batch_id = ${batchId} ORDER BY seq, idx`),
      processed_events: await rows(tx, sql`SELECT event_id, response FROM processed_events WHERE batch_id = ${batchId} ORDER BY event_id`),
    };
    const { write, answer } = redact(found);
    if (write === null) return answer;
    if (write.actor_snapshot !== undefined) {
      await rows(tx, sql`UPDATE actor_snapshots SET snapshot = ${json(write.actor_snapshot)} WHERE actor_id = ${batchActorId(batchId)}`);
    }
    for (const a of write.association_snapshots) {
      await rows(
        tx,
        sql`UPDATE essay_student_associations SET snapshot = ${json(a.snapshot)} WHERE essay_id = ${a.essay_id} AND batch_id = ${batchId}`,
      );
    }
    for (const a of write.essay_student_associations) {
      await rows(
        tx,
        sql`UPDATE essay_student_associations SET filename = ${a.filename}, match_reasons = ${jsonOrNull(a.match_reasons)},
              suggestions = ${jsonOrNull(a.suggestions)} WHERE id = ${a.id}`,
      );
    }
    for (const s of write.essay_slots) {
      await rows(tx, sql`UPDATE essay_slots SET original_file_name = ${s.original_file_name} WHERE essay_id = ${s.essay_id}`);
    }
    for (const h of write.history) {
      await rows(
        tx,
        sql`UPDATE history SET detail = ${jsonOrNull(h.detail)}, machine_input = ${jsonOrNull(h.machine_input)} WHERE seq = ${h.seq}`,
      );
    }
    for (const o of write.outbox) {
      const path = `{${o.idx - 1},envelope}`;
      await rows(tx, sql`UPDATE outbox SET messages = jsonb_set(messages, ${path}::text[], ${json(o.envelope)}) WHERE seq = ${o.seq}`);
    }
    for (const p of write.processed_events) {
      await rows(tx, sql`UPDATE processed_events SET response = ${json(p.response)} WHERE event_id = ${p.event_id}`);
    }
    if (write.record) {
      const r = write.record;
      await rows(
        tx,
        sql`INSERT INTO history (batch_id, at, event_type, event_id, actor, from_state, to_state, correlation_id, outcome, reason, version, detail)
            VALUES (${batchId}, ${r.at}::timestamptz, ${r.event_type}, NULL, ${r.actor}, ${head.state}, ${head.state}, ${head.correlation_id}::uuid,
              ${r.outcome}, NULL, ${head.version}, ${json(r.detail)})`,
      );
    }
    return answer;
  });
}
