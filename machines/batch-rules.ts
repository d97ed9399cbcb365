import { type AssociationEvent, type AssociationRecord, newAssociation, stepAssociation } from './association.ts';
import type { AssociationCounts } from './batch-context.ts';
import type { BatchEvent, EssayRef } from './events.ts';

/** Pure helpers of the batch machine's guards and actions, kept apart so the chart file stays a chart. */

export function pendingCount(associations: Record<string, AssociationRecord>): number {
  let n = 0;
  for (const a of Object.values(associations)) if (a.validation_status === 'pending_validation') n++;
  return n;
}

export function countsOf(associations: Record<string, AssociationRecord>): AssociationCounts {
  return { total: Object.keys(associations).length, pending: pendingCount(associations) };
}

/**
 * The counts after some associations stepped, from their statuses before and after: a decision
 * takes one off the pending count, a reopening puts one back. The working set may be partial, so
 * the count moves by what changed rather than being counted again.
 */
export function countsAfterSteps(counts: AssociationCounts, stepped: SteppedAssociation[]): AssociationCounts {
  let pending = counts.pending;
  for (const { before, after } of stepped) {
    pending += Number(after.validation_status === 'pending_validation') - Number(before.validation_status === 'pending_validation');
  }
  return { total: counts.total, pending };
}

/**
 * Every association of the batch, for StudentAssociationsConfirmedV1. The working set must be
 * complete here (associationsNeeded loads all for an event that may settle the batch); a partial
 * one would announce a partial class, so it throws instead.
 */
export function everyAssociation(context: {
  batch_id: string;
  associations: Record<string, AssociationRecord>;
  association_counts: AssociationCounts;
}) {
  const loaded = Object.keys(context.associations).length;
  if (loaded !== context.association_counts.total) {
    throw new Error(
      `invariant broken: batch ${context.batch_id} settles with ${loaded} of its ${context.association_counts.total} association records loaded`,
    );
  }
  return context.associations;
}

/**
 * The association records an event about these essays needs: theirs, or every record when the
 * event may leave nothing pending (it then announces them all). A timeout needs all.
 */
export function associationsNeeded(counts: AssociationCounts, essayIds: string[] | 'all'): string[] | 'all' {
  if (essayIds === 'all' || new Set(essayIds).size >= counts.pending) return 'all';
  return essayIds;
}

/** Hours from the suggestions to the deadline's decision, as ValidationTimeoutProcessedV1 reports them. */
export function timeoutHours(associations: Record<string, AssociationRecord>, at: string): number {
  const created = Object.values(associations)[0]?.created_at;
  return created === undefined ? 0 : Math.max(0, Math.round((Date.parse(at) - Date.parse(created)) / 3_600_000));
}

export function toAssociationEvent(
  d: { confirmed: boolean; student_id?: string; student_in_class: boolean },
  event: { at: string; teacher_id: string },
) {
  return d.confirmed
    ? { type: 'CONFIRM' as const, at: event.at, by: event.teacher_id, student_id: d.student_id, student_in_class: d.student_in_class }
    : { type: 'REJECT' as const, at: event.at, by: event.teacher_id };
}

/** The association event a teacher's reopening sends to each essay it names. */
export function reopening(event: { at: string; teacher_id: string }): AssociationEvent {
  return { type: 'REOPEN', at: event.at, by: event.teacher_id };
}

/** The association event a teacher's correction sends to the essay it names. */
export function correction(
  c: { student_id: string; student_in_class: boolean },
  event: { at: string; teacher_id: string },
): AssociationEvent {
  return { type: 'CORRECT', at: event.at, by: event.teacher_id, student_id: c.student_id, student_in_class: c.student_in_class };
}

/**
 * Whether a correction command applies as a whole: it names at least one essay, each once, and
 * every one is a decided association the named student of the class can take. All or none.
 */
export function everyCorrectionApplies(
  associations: Record<string, AssociationRecord>,
  event: { at: string; teacher_id: string; corrections: Array<{ essay_id: string; student_id: string; student_in_class: boolean }> },
): boolean {
  const essays = new Set(event.corrections.map((c) => c.essay_id));
  if (event.corrections.length === 0 || essays.size !== event.corrections.length) return false;
  return event.corrections.every((c) => {
    const current = associations[c.essay_id];
    return current !== undefined && stepAssociation(current, correction(c, event)).accepted;
  });
}

/**
 * The associations the matcher's suggestions make: one pending association per provisioned essay
 * and per essay the matcher names (its storage id wins), each with its suggestions best first and
 * the best one as the suggested student. An essay without a match gets no suggestion.
 */
export function associationsFromSuggestions(
  batch: { batch_id: string; essays: EssayRef[] },
  event: Extract<BatchEvent, { type: 'AUTHOR_MATCHES_SUGGESTED' }>,
): Record<string, AssociationRecord> {
  const associations: Record<string, AssociationRecord> = {};
  const storageIds = new Map(batch.essays.map((e) => [e.essay_id, e.text_storage_id]));
  for (const m of event.matches) storageIds.set(m.essay_id, m.text_storage_id);
  for (const [essay_id, text_storage_id] of storageIds) {
    const match = event.matches.find((m) => m.essay_id === essay_id);
    const suggestions = [...(match?.suggestions ?? [])].sort((a, b) => b.confidence_score - a.confidence_score);
    const best = suggestions[0];
    associations[essay_id] = newAssociation(
      {
        essay_id,
        batch_id: batch.batch_id,
        class_id: event.class_id,
        text_storage_id,
        created_by_user_id: event.created_by,
        created_at: event.at,
        suggested_student_id: best?.student_id ?? null,
        confidence_score: best?.confidence_score ?? null,
        match_reasons: best?.match_reasons ?? null,
      },
      { filename: match?.filename ?? null, suggestions },
    );
  }
  return associations;
}

/** One association an event stepped: the record before and after. */
export interface SteppedAssociation {
  before: AssociationRecord;
  after: AssociationRecord;
}

/**
 * Steps each named association by its event, in order (a later event for the same essay sees the
 * earlier one's result); refused steps change nothing. Answers the new map, every accepted step,
 * and the records those steps left decided (what the wire announces).
 */
export function stepAssociations(
  associations: Record<string, AssociationRecord>,
  steps: Array<[essayId: string, event: AssociationEvent]>,
): { associations: Record<string, AssociationRecord>; stepped: SteppedAssociation[]; decided: AssociationRecord[] } {
  const next = { ...associations };
  const stepped: SteppedAssociation[] = [];
  for (const [essayId, event] of steps) {
    const current = next[essayId];
    if (!current) continue;
    const result = stepAssociation(current, event);
    if (!result.accepted) continue;
    next[essayId] = result.record;
    stepped.push({ before: current, after: result.record });
  }
  const decided = stepped.filter((s) => s.after.validation_status !== 'pending_validation').map((s) => s.after);
  return { associations: next, stepped, decided };
}

/**
 * The pause a VALIDATION_PAUSED makes of a running deadline: the time it had left at `at`. Null when
 * there is nothing to pause: no deadline, one already paused, one already due, or an end not ahead.
 */
export function pauseOf(
  context: { deadline: { due_at: string } | null; pause: unknown },
  event: { at: string; by: string; until: string | null; reason: string | null },
) {
  if (context.deadline === null || context.pause !== null) return null;
  const remaining_ms = Date.parse(context.deadline.due_at) - Date.parse(event.at);
  if (!(remaining_ms > 0)) return null;
  if (event.until !== null && !(Date.parse(event.until) > Date.parse(event.at))) return null;
  return {
    paused_at: event.at,
    by: event.by,
    until: event.until,
    remaining_ms,
    paused_due_at: context.deadline.due_at,
    reason: event.reason,
  };
}

/**
 * When a resumed deadline falls: the time it had left, counted from the resume, or from the
 * pause's end when the end fired it (a late firing does not lengthen the pause). Plain time: the
 * school calendar decided the deadline once, and the remainder is what it had left.
 */
export function resumedDueAt(
  pause: { until: string | null; remaining_ms: number },
  event: { at: string; deadline_version: number | null },
) {
  const from = event.deadline_version !== null && pause.until !== null ? Date.parse(pause.until) : Date.parse(event.at);
  return new Date(from + pause.remaining_ms).toISOString();
}
