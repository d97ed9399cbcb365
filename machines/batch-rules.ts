import type { AssociationRecord } from './association.ts';

/** Pure helpers of the batch machine's guards and actions, kept apart so the chart file stays a chart. */

export function pendingCount(associations: Record<string, AssociationRecord>): number {
  let n = 0;
  for (const a of Object.values(associations)) if (a.validation_status === 'pending_validation') n++;
  return n;
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
