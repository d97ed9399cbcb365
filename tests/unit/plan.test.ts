import { initialTransition, transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { type BatchInput, batchMachine } from '../../machines/batch.ts';
import { type BatchEvent, TOPICS } from '../../machines/events.ts';
import { planTransition } from '../../app/plan.ts';
import type { BatchSnapshot } from '../../app/snapshots.ts';

/** The planner is pure: these run without a database, from snapshots made by the machine itself. */

const BATCH_ID = '6e2a7f10-0000-4000-8000-0000000000ba';
const CLASS_ID = '6e2a7f10-0000-4000-8000-0000000000c1';
const CORRELATION_ID = '6e2a7f10-0000-4000-8000-0000000000cc';
const E1 = '6e2a7f10-0000-4000-8000-0000000000e1';
const E2 = '6e2a7f10-0000-4000-8000-0000000000e2';
const S1 = '6e2a7f10-0000-4000-8000-0000000000a1';
const S2 = '6e2a7f10-0000-4000-8000-0000000000a2';
const UNKNOWN = '6e2a7f10-0000-4000-8000-00000000a0a0';
const UNUSED = '6e2a7f10-0000-4000-8000-00000000a0a1';
const DUE_AT = '2025-03-04T08:05:00.000Z';
const FIRED_AT = '2025-03-04T08:05:01.500Z';

const input: BatchInput = {
  batch_id: BATCH_ID,
  owner_id: 'teacher-plan',
  class_id: CLASS_ID,
  course_code: 'ENG6',
  expected_essay_count: 2,
  correlation_id: CORRELATION_ID,
};
const provisioned: BatchEvent = {
  type: 'CONTENT_PROVISIONED',
  at: '2025-03-03T08:00:00.000Z',
  essays: [
    { essay_id: E1, text_storage_id: 'storage-e1' },
    { essay_id: E2, text_storage_id: 'storage-e2' },
  ],
  provisioned_count: 2,
  expected_count: 2,
};
const suggestion = (essay_id: string, student_id: string, confidence_score: number) => ({
  essay_id,
  text_storage_id: `storage-${essay_id.slice(-2)}`,
  filename: `${essay_id}.docx`,
  suggestions: [{ student_id, student_name: 'A Student', student_email: null, confidence_score, match_reasons: ['header'] }],
});
const suggested: BatchEvent = {
  type: 'AUTHOR_MATCHES_SUGGESTED',
  at: '2025-03-03T08:05:00.000Z',
  class_id: CLASS_ID,
  created_by: 'teacher-plan',
  due_at: DUE_AT,
  matches: [suggestion(E1, S1, 0.95), suggestion(E2, S2, 0.4)],
};
const timeout = (deadline_version: number): BatchEvent => ({
  type: 'VALIDATION_TIMEOUT',
  at: FIRED_AT,
  deadline_version,
  unknown_student_id: UNKNOWN,
  students: {
    [S1]: { first_name: 'Student', last_name: 'One', email: 's1@school.example' },
    [UNKNOWN]: { first_name: 'UNKNOWN', last_name: 'STUDENT', email: `unknown.${CLASS_ID}@huleedu.system` },
  },
});
const student = (id: string) => ({
  id,
  class_id: CLASS_ID,
  first_name: 'UNKNOWN',
  last_name: 'STUDENT',
  email: `${id}@x.example`,
  is_unknown: true,
});

function snapshotAfter(...events: BatchEvent[]): BatchSnapshot {
  let [snapshot] = initialTransition(batchMachine, input);
  for (const event of events) [snapshot] = transition(batchMachine, snapshot, event);
  return snapshot;
}

const request = {
  batchId: BATCH_ID,
  eventId: `deadline-${BATCH_ID}-v1`,
  actor: 'timeout',
  correlationId: null,
  auditDetail: { fired_by: 'sweep' },
};

describe('planTransition (pure)', () => {
  it('plans a deadline: the answer, the cleared deadline, both decisions, the used UNKNOWN student, history and outbox', () => {
    const plan = planTransition({
      request,
      before: snapshotAfter(provisioned, suggested),
      rowVersion: 7,
      event: timeout(1),
      newStudents: [student(UNKNOWN), student(UNUSED)],
      at: FIRED_AT,
    });
    if (plan.kind !== 'applied') throw new Error(`expected an applied plan, got ${plan.kind}`);
    expect(plan.body).toMatchObject({
      event_id: request.eventId,
      batch_id: BATCH_ID,
      version: 8,
      duplicate: false,
      status: 'student_validation_completed',
    });
    expect(plan.event_type).toBe('VALIDATION_TIMEOUT');
    const w = plan.write;
    expect(w.batchId).toBe(BATCH_ID);
    expect(w.expectedVersion).toBe(7);
    expect(w.deadline).toEqual({ kind: 'clear', previous: 1 });
    expect(w.dueAt).toBeNull();
    expect(w.newAssociations).toEqual([]);
    expect(w.changedAssociations.map((a) => [a.essay_id, a.validation_status, a.student_id])).toEqual([
      [E1, 'timeout_confirmed', S1],
      [E2, 'no_match', UNKNOWN],
    ]);
    // Only the UNKNOWN student a decision links is inserted.
    expect(w.newStudents.map((s) => s.id)).toEqual([UNKNOWN]);
    expect(w.processed).toEqual({ eventId: request.eventId, response: plan.body, fingerprint: null });
    expect(w.history).toMatchObject({
      event_id: request.eventId,
      actor: 'timeout',
      outcome: 'applied',
      reason: null,
      correlation_id: CORRELATION_ID,
      at: FIRED_AT,
      detail: { deadline_version: 1, due_at: DUE_AT, lateness_ms: 1500, fired_by: 'sweep' },
    });
    expect(w.history.from_state).toBe(plan.from_state);
    expect(w.history.to_state).toBe(plan.body.state);
    const topics = w.outbox.map((o) => o.topic);
    expect(topics).toContain(TOPICS.associationsConfirmed);
    expect(w.outbox.every((o) => o.correlation_id === CORRELATION_ID)).toBe(true);
  });

  it('plans the suggestions: new associations and a new deadline, nothing cleared', () => {
    const plan = planTransition({
      request: { ...request, eventId: 'inbound-1', actor: 'service', auditDetail: undefined },
      before: snapshotAfter(provisioned),
      rowVersion: 2,
      event: suggested,
      at: '2025-03-03T08:05:00.000Z',
    });
    if (plan.kind !== 'applied') throw new Error(`expected an applied plan, got ${plan.kind}`);
    expect(plan.write.deadline).toEqual({ kind: 'set', version: 1, due_at: DUE_AT, previous: null });
    expect(plan.write.dueAt).toBe(DUE_AT);
    expect(plan.write.newAssociations.map((a) => [a.essay_id, a.validation_status, a.suggested_student_id])).toEqual([
      [E1, 'pending_validation', S1],
      [E2, 'pending_validation', S2],
    ]);
    expect(plan.write.changedAssociations).toEqual([]);
    expect(plan.write.newStudents).toEqual([]);
    expect(plan.body.version).toBe(3);
  });

  it('plans a stale timer as a late history row only, answered at the current row version', () => {
    const before = snapshotAfter(provisioned, suggested);
    const plan = planTransition({ request, before, rowVersion: 7, event: timeout(2), at: FIRED_AT });
    if (plan.kind !== 'refused') throw new Error(`expected a refusal, got ${plan.kind}`);
    expect(plan.body).toMatchObject({ kind: 'refused', late: true, version: 7 });
    expect(plan.write).toMatchObject({
      outcome: 'late',
      to_state: null,
      reason: 'stale deadline version 2 (current 1)',
      detail: { fired_by: 'sweep' },
    });
  });

  it('plans an event the state does not accept as a refusal naming what it would accept', () => {
    const plan = planTransition({
      request: { ...request, eventId: 'cancel-twice', actor: 'teacher-plan', auditDetail: undefined },
      before: snapshotAfter({ type: 'CANCEL', at: '2025-03-03T08:00:00.000Z', by: 'teacher-plan', reason: null }),
      rowVersion: 2,
      event: { type: 'CANCEL', at: '2025-03-03T08:01:00.000Z', by: 'teacher-plan', reason: null },
      at: '2025-03-03T08:01:00.000Z',
    });
    if (plan.kind !== 'refused') throw new Error(`expected a refusal, got ${plan.kind}`);
    expect(plan.body).toMatchObject({ late: false, state: 'cancelled', allowed_events: [] });
    expect(plan.write.outcome).toBe('refused');
    expect(plan.write.reason).toMatch(/^state cancelled does not accept /);
  });
});
