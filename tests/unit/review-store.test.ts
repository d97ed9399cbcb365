import { describe, expect, it } from 'vitest';
import { rowOrder } from '../../web/review/batch-view.ts';
import { acceptedNow, highlighted, mermaidId, pathTaken } from '../../web/review/chart.ts';
import { answersByEssay, busyEssays, createReviewStore } from '../../web/review/store.ts';
import type { Association, BatchView, HistoryRow } from '../../web/review/types.ts';
import { marksOf } from '../../web/review/views.ts';
import batchGraph from '../../visualizations/batch.json' with { type: 'json' };

const BATCH = '11111111-1111-4111-8111-111111111111';
const teacher = { kind: 'teacher' as const, token: 't', teacher_id: 'teacher-a' };

function batch(overrides: Partial<BatchView> = {}): BatchView {
  return {
    batch_id: BATCH,
    class_id: null,
    class_type: 'REGULAR',
    course_code: 'ENG5',
    status: 'awaiting_student_validation',
    state: 'awaiting_student_validation.awaiting_teacher',
    version: 3,
    created_at: '2026-03-02T08:00:00.000Z',
    updated_at: '2026-03-02T08:00:00.000Z',
    validation: {
      due_at: '2026-03-03T08:00:00.000Z',
      paused: null,
      pending: 2,
      confirmed: 0,
      rejected: 0,
      timeout_confirmed: 0,
      no_match: 0,
    },
    ...overrides,
  };
}

const history = (seq: number, to_state: string, outcome = 'applied'): HistoryRow => ({
  seq,
  at: null,
  event_type: 'X',
  actor: 'service',
  from_state: null,
  to_state,
  outcome,
  reason: null,
});

function openBatch() {
  const store = createReviewStore(0);
  store.trigger.signedIn({ auth: teacher });
  store.trigger.navigated({ view: { name: 'batch', batchId: BATCH } });
  return store;
}

describe('the review page store', () => {
  it('signs a teacher in to their batches and the service token to the operator view; signing out forgets everything', () => {
    const store = createReviewStore(0);
    store.trigger.configured({ developmentTeachers: [{ teacher_id: 'teacher-a', token: 'dev' }], stuckAfterMs: 5 });
    store.trigger.signedIn({ auth: teacher });
    expect(store.getSnapshot().context.view).toEqual({ name: 'batches' });
    store.trigger.batchesLoaded({ batches: [batch()], deadlines: [], classes: [] });
    store.trigger.signedOut();
    const after = store.getSnapshot().context;
    expect(after).toMatchObject({ auth: null, view: { name: 'signin' }, batches: [], stuckAfterMs: 5 });
    expect(after.developmentTeachers).toHaveLength(1);
    store.trigger.signedIn({ auth: { kind: 'service', token: 's' } });
    expect(store.getSnapshot().context.view).toEqual({ name: 'operator' });
  });

  it('keeps a signed-out reader on the sign-in view whatever the URL asks for', () => {
    const store = createReviewStore(0);
    store.trigger.navigated({ view: { name: 'batch', batchId: BATCH } });
    expect(store.getSnapshot().context.view).toEqual({ name: 'signin' });
    expect(store.getSnapshot().context.detail).toBeNull();
  });

  it('merges stream messages by seq, keeping the newest event id, and ignores messages of another batch', () => {
    const store = openBatch();
    store.trigger.streamOpened({ batchId: BATCH });
    store.trigger.historyArrived({ batchId: BATCH, id: 2, row: history(2, 'b') });
    store.trigger.historyArrived({ batchId: BATCH, id: 1, row: history(1, 'a') });
    store.trigger.historyArrived({ batchId: BATCH, id: 2, row: history(2, 'b') }); // the overlap, again
    store.trigger.historyArrived({ batchId: 'other', id: 9, row: history(9, 'z') });
    store.trigger.batchArrived({ batchId: BATCH, id: 2, batch: batch(), associations: [] });
    const detail = store.getSnapshot().context.detail!;
    expect(detail.history.map((h) => h.seq)).toEqual([1, 2]);
    expect(detail.lastEventId).toBe(2);
    expect(detail.connection).toBe('open');
    expect(detail.batch?.state).toBe('awaiting_student_validation.awaiting_teacher');
    store.trigger.streamDropped({ batchId: BATCH, final: false });
    expect(store.getSnapshot().context.detail!.connection).toBe('retrying');
  });

  it('keeps the stream cursor when the same batch is opened again, and starts over for another', () => {
    const store = openBatch();
    store.trigger.historyArrived({ batchId: BATCH, id: 7, row: history(7, 'a') });
    store.trigger.navigated({ view: { name: 'batch', batchId: BATCH } });
    expect(store.getSnapshot().context.detail!.lastEventId).toBe(7);
    store.trigger.navigated({ view: { name: 'batch', batchId: '22222222-2222-4222-8222-222222222222' } });
    expect(store.getSnapshot().context.detail!.lastEventId).toBe(0);
  });

  it('refuses a second action on an essay while the first is in flight, so a double click sends once', () => {
    const store = openBatch();
    store.trigger.actionStarted({ key: 'k1', kind: 'confirm', batchId: BATCH, essayIds: ['e1'] });
    expect(store.can.actionStarted({ key: 'k2', kind: 'confirm', batchId: BATCH, essayIds: ['e1'] })).toBe(false);
    store.trigger.actionStarted({ key: 'k2', kind: 'reject', batchId: BATCH, essayIds: ['e1'] });
    expect(Object.keys(store.getSnapshot().context.actions)).toEqual(['k1']);
    expect([...busyEssays(store.getSnapshot().context)]).toEqual(['e1']);
    // Another essay is free; the same key twice is not.
    expect(store.can.actionStarted({ key: 'k3', kind: 'confirm', batchId: BATCH, essayIds: ['e2'] })).toBe(true);
    expect(store.can.actionStarted({ key: 'k1', kind: 'confirm', batchId: BATCH, essayIds: ['e2'] })).toBe(false);
    expect(store.can.actionStarted({ key: 'k4', kind: 'confirm_high', batchId: BATCH, essayIds: [] })).toBe(false);

    store.trigger.actionAnswered({ key: 'k1', results: { e1: { outcome: 'applied', status: 'confirmed', studentId: 's1' } } });
    expect(busyEssays(store.getSnapshot().context).size).toBe(0);
    expect(answersByEssay(store.getSnapshot().context)).toEqual({
      e1: { kind: 'confirm', status: 'answered', result: { outcome: 'applied', status: 'confirmed', studentId: 's1' }, problem: null },
    });
    expect(store.can.actionStarted({ key: 'k5', kind: 'reject', batchId: BATCH, essayIds: ['e1'] })).toBe(true);
  });

  it('allows one deadline extension at a time per batch, and records a failure with its message', () => {
    const store = openBatch();
    store.trigger.actionStarted({ key: 'x1', kind: 'extend', batchId: BATCH, essayIds: [] });
    expect(store.can.actionStarted({ key: 'x2', kind: 'extend', batchId: BATCH, essayIds: [] })).toBe(false);
    store.trigger.actionFailed({ key: 'x1', problem: 409 });
    expect(store.getSnapshot().context.actions.x1).toMatchObject({ status: 'failed', problem: 409 });
    expect(store.can.actionStarted({ key: 'x2', kind: 'extend', batchId: BATCH, essayIds: [] })).toBe(true);
  });

  it('takes one cancel and one pipeline request at a time per batch, and stops asking once an action starts', () => {
    const store = openBatch();
    store.trigger.asked({ asking: { kind: 'cancel' } });
    expect(store.getSnapshot().context.asking).toEqual({ kind: 'cancel' });
    store.trigger.actionStarted({ key: 'c1', kind: 'cancel', batchId: BATCH, essayIds: [] });
    expect(store.getSnapshot().context.asking).toBeNull();
    expect(store.can.actionStarted({ key: 'c2', kind: 'cancel', batchId: BATCH, essayIds: [] })).toBe(false);
    store.trigger.actionStarted({ key: 'p1', kind: 'pipeline', batchId: BATCH, essayIds: [], pipeline: 'nlp' });
    expect(store.can.actionStarted({ key: 'p2', kind: 'pipeline', batchId: BATCH, essayIds: [], pipeline: 'ai_feedback' })).toBe(false);
    // An essay decision needs its essay: one with none is refused.
    expect(store.can.actionStarted({ key: 'r1', kind: 'reject', batchId: BATCH, essayIds: [] })).toBe(false);
    store.trigger.actionAnswered({ key: 'p1', results: {} });
    expect(store.can.actionStarted({ key: 'p2', kind: 'pipeline', batchId: BATCH, essayIds: [], pipeline: 'ai_feedback' })).toBe(true);
  });

  it('marks a batch the stream does not know as missing, and opening another batch starts over', () => {
    const store = openBatch();
    store.trigger.batchMissing({ batchId: BATCH });
    expect(store.getSnapshot().context.detail).toMatchObject({ missing: true, connection: 'closed' });
    store.trigger.batchMissing({ batchId: '22222222-2222-4222-8222-222222222222' });
    store.trigger.navigated({ view: { name: 'batch', batchId: '22222222-2222-4222-8222-222222222222' } });
    expect(store.getSnapshot().context.detail).toMatchObject({ missing: false, batch: null });
  });

  it('remembers the student picked for a correction, per essay', () => {
    const store = openBatch();
    store.trigger.correctionPicked({ essayId: 'e1', studentId: 's2' });
    store.trigger.correctionPicked({ essayId: 'e2', studentId: 's3' });
    expect(store.getSnapshot().context.corrections).toEqual({ e1: 's2', e2: 's3' });
  });
});

describe('what the page derives for the chart and the rows', () => {
  it('draws the path from applied history rows only, and names states as the diagram generator does', () => {
    const path = pathTaken([history(1, 'a'), history(2, 'b', 'refused'), history(3, 'c.d'), history(4, 'c.d')]);
    expect(path).toEqual(['a', 'c.d']);
    expect(mermaidId('awaiting_student_validation.awaiting_teacher')).toBe('awaiting_student_validation__awaiting_teacher');
    const text = highlighted('stateDiagram-v2\n', 'c.d', path);
    expect(text).toContain('class a visited');
    expect(text).toContain('class c__d current');
  });

  it('lists the events the current state and its parents accept, from the generated chart', () => {
    const accepted = acceptedNow(batchGraph, 'awaiting_student_validation.awaiting_teacher');
    const events = accepted.map((e) => e.event);
    expect(events).toEqual(
      expect.arrayContaining(['TEACHER_DECISIONS', 'VALIDATION_TIMEOUT', 'DEADLINE_CHANGED', 'CANCEL', 'ESSAYS_READY']),
    );
    expect(events).not.toContain('PIPELINE_REQUESTED');
    expect([...new Set(acceptedNow(batchGraph, 'ready_for_pipeline_execution').map((e) => e.event))].sort()).toEqual([
      'CANCEL',
      'ESSAYS_READY',
      'PHASE_OUTCOME',
      'PIPELINE_REQUESTED',
      'PROMPT_AMENDED',
      'TEACHER_CORRECTED',
      'VALIDATION_ERRORS',
    ]);
  });

  it('orders rows by file name, then essay id, whatever their status', () => {
    const row = (essay_id: string, filename: string | undefined, status: string) =>
      ({ essay_id, filename, validation_status: status }) as Association;
    const order = rowOrder([row('c', 'b.docx', 'confirmed'), row('b', 'a.docx', 'pending_validation'), row('a', 'b.docx', 'rejected')]);
    expect(order.map((a) => a.essay_id)).toEqual(['b', 'a', 'c']);
  });
});

describe('the marks on My batches', () => {
  const at = (iso: string) => Date.parse(iso);
  it('marks a batch overdue when its deadline passed with essays still pending, and never once nothing is pending', () => {
    const b = batch();
    expect(marksOf(b, at('2026-03-03T07:59:59.000Z'), 3_600_000).overdue).toBe(false);
    expect(marksOf(b, at('2026-03-03T08:00:00.000Z'), 3_600_000).overdue).toBe(true);
    const settled = batch({ validation: { ...b.validation, pending: 0 } });
    expect(marksOf(settled, at('2026-03-04T00:00:00.000Z'), 3_600_000).overdue).toBe(false);
  });

  it('marks a batch stuck when it waits for another service longer than the threshold, but not while it waits for the teacher', () => {
    const waiting = batch({ state: 'awaiting_student_validation.awaiting_suggestions' });
    expect(marksOf(waiting, at('2026-03-02T09:00:00.000Z'), 3_600_000).stuck).toBe(false);
    expect(marksOf(waiting, at('2026-03-02T09:00:00.001Z'), 3_600_000).stuck).toBe(true);
    expect(marksOf(batch(), at('2026-03-05T00:00:00.000Z'), 3_600_000).stuck).toBe(false);
  });
});
