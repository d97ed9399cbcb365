import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { batchFinished } from '../../app/retention.ts';
import {
  REDACTED,
  redactAssociationRow,
  redactAssociationSnapshot,
  redactEnvelope,
  redactFileName,
  redactHistoryDetail,
  redactMachineInput,
} from '../../app/retention-redact.ts';

const STUDENT = 'c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f';
const ESSAY = 'b1e2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

/** An association record as essay_student_associations.snapshot keeps it (context, state, matcher details). */
const association = {
  essay_id: ESSAY,
  student_id: STUDENT,
  suggested_student_id: STUDENT,
  confidence_score: 0.92,
  confidence_level: 'high',
  match_reasons: ['name in header'],
  validation_status: 'confirmed',
  validation_method: 'human',
  validated_by: 'teacher-a',
  validated_at: '2026-03-02T09:15:00.000Z',
  filename: 'Uppsats Zäll.docx',
  suggestions: [
    {
      student_id: STUDENT,
      student_name: 'Emil Zäll Jernberg',
      student_email: 'emil.zäll.jernberg@test.edu',
      confidence_score: 0.92,
      match_reasons: ['name in header'],
    },
  ],
};

describe('retention redaction (the audit applies the same functions)', () => {
  it('erases names, e-mails, file names and match reasons, and keeps every id, decision and score', () => {
    expect(redactAssociationSnapshot(association)).toEqual({
      ...association,
      match_reasons: [],
      filename: REDACTED,
      suggestions: [{ student_id: STUDENT, student_name: REDACTED, student_email: null, confidence_score: 0.92, match_reasons: [] }],
    });
    const updated = {
      event_type: 'huleedu.class.essay.association.updated.v1',
      data: {
        essay_id: ESSAY,
        student_id: STUDENT,
        first_name: 'Emil',
        last_name: 'Zäll',
        student_email: 'e@test.edu',
        validation_method: 'human',
      },
      metadata: { user_id: 'teacher-a' },
    };
    expect(redactEnvelope(updated).data).toEqual({ ...updated.data, first_name: REDACTED, last_name: REDACTED, student_email: null });
    expect(redactAssociationRow({ id: 'x', filename: 'a.docx', match_reasons: ['r'], suggestions: null })).toEqual({
      id: 'x',
      filename: REDACTED,
      match_reasons: [],
      suggestions: null,
    });
    expect(redactFileName('a.docx')).toBe(REDACTED);
  });

  it('erases free-text reasons in a history detail only, and leaves empty and null values', () => {
    const detail = {
      corrected: [{ essay_id: ESSAY, student_id: STUDENT, corrected_by: 'teacher-a', reason: 'wrong student' }],
      reason: null,
    };
    expect(redactHistoryDetail(detail)).toEqual({ corrected: [{ ...detail.corrected[0], reason: REDACTED }], reason: null });
    // A refusal's reason in an answer is the service's own text, not the teacher's.
    expect(redactEnvelope({ reason: 'already decided' })).toEqual({ reason: 'already decided' });
    expect(redactEnvelope({ filename: '', student_email: null, last_name: '' })).toEqual({
      filename: '',
      student_email: null,
      last_name: '',
    });
    expect(redactHistoryDetail(undefined)).toBeUndefined();
  });

  it("erases the roster's names and e-mails, the matcher's details and free-text reasons in a kept machine input, keeping what the machine decides on", () => {
    const suggested = {
      event: {
        type: 'AUTHOR_MATCHES_SUGGESTED',
        at: '2026-03-01T08:00:00.000Z',
        class_id: STUDENT,
        matches: [{ essay_id: ESSAY, text_storage_id: 'ts-1', filename: 'Uppsats Zäll.docx', suggestions: association.suggestions }],
        due_at: '2026-03-03T08:00:00.000Z',
        created_by: 'teacher-a',
        deadline_reason: { rule: 'elapsed', hours: 48 },
      },
    };
    expect(redactMachineInput(suggested)).toEqual({
      event: {
        ...suggested.event,
        matches: [
          {
            essay_id: ESSAY,
            text_storage_id: 'ts-1',
            filename: REDACTED,
            suggestions: [{ student_id: STUDENT, student_name: REDACTED, student_email: null, confidence_score: 0.92, match_reasons: [] }],
          },
        ],
      },
    });
    const corrected = {
      event: {
        type: 'TEACHER_CORRECTED',
        at: '2026-03-02T09:15:00.000Z',
        teacher_id: 'teacher-a',
        corrections: [{ essay_id: ESSAY, student_id: STUDENT, student_in_class: true, reason: 'bytte elev' }],
        students: { [STUDENT]: { first_name: 'Emil', last_name: 'Zäll', email: 'emil@test.edu' } },
      },
      audit: { fired_by: 'sweep' },
    };
    expect(redactMachineInput(corrected)).toEqual({
      event: {
        ...corrected.event,
        corrections: [{ essay_id: ESSAY, student_id: STUDENT, student_in_class: true, reason: REDACTED }],
        students: { [STUDENT]: { first_name: REDACTED, last_name: REDACTED, email: null } },
      },
      audit: { fired_by: 'sweep' },
    });
    const cancel = { event: { type: 'CANCEL', at: '2026-03-02T09:15:00.000Z', by: 'teacher-a', reason: null } };
    expect(redactMachineInput(cancel)).toEqual(cancel);
    expect(redactMachineInput(redactMachineInput(corrected))).toEqual(redactMachineInput(corrected));
    expect(redactMachineInput(null)).toBeNull();
  });

  it('is idempotent, so a replay redacted once equals rows redacted by any number of purges', () => {
    for (const document of [association, { detail: { reason: 'x', filename: 'y' } }]) {
      expect(redactHistoryDetail(redactHistoryDetail(document))).toEqual(redactHistoryDetail(document));
      expect(redactAssociationSnapshot(redactAssociationSnapshot(document))).toEqual(redactAssociationSnapshot(document));
    }
  });
});

describe('which batches are finished', () => {
  const pipeline = (statuses: Record<string, string>) => ({
    requested_pipelines: Object.keys(statuses),
    phases: Object.fromEntries(Object.entries(statuses).map(([p, status]) => [p, { status, started_at: null, completed_at: null }])),
    last_updated: null,
  });
  it('counts final states and a ready batch whose pipeline ended', () => {
    for (const state of ['cancelled', 'failed_critically', 'content_ingestion_failed']) expect(batchFinished(state, null)).toBe(true);
    expect(
      batchFinished(
        'ready_for_pipeline_execution',
        pipeline({ spellcheck: 'completed_successfully', nlp: 'completed_with_partial_success' }),
      ),
    ).toBe(true);
    expect(batchFinished('ready_for_pipeline_execution', pipeline({ spellcheck: 'failed', nlp: 'pending_dependencies' }))).toBe(true);
  });
  it('does not count a batch still waiting or running', () => {
    expect(batchFinished('ready_for_pipeline_execution', null)).toBe(false);
    expect(
      batchFinished('ready_for_pipeline_execution', pipeline({ spellcheck: 'completed_successfully', nlp: 'dispatch_initiated' })),
    ).toBe(false);
    expect(
      batchFinished('ready_for_pipeline_execution', pipeline({ spellcheck: 'completed_successfully', nlp: 'pending_dependencies' })),
    ).toBe(false);
    expect(batchFinished('awaiting_student_validation.awaiting_teacher', null)).toBe(false);
    expect(batchFinished('student_validation_completed', null)).toBe(false);
  });
});

describe('retention configuration', () => {
  it('is off by default, runs hourly, and names a bad value', () => {
    expect(loadConfig({})).toMatchObject({ retentionDays: null, retentionIntervalMs: 3_600_000 });
    expect(loadConfig({ RETENTION_DAYS: '365', RETENTION_INTERVAL_MS: '60000' })).toMatchObject({
      retentionDays: 365,
      retentionIntervalMs: 60_000,
    });
    expect(() => loadConfig({ RETENTION_DAYS: '0' })).toThrow(/RETENTION_DAYS/);
    expect(() => loadConfig({ RETENTION_DAYS: 'a year' })).toThrow(/RETENTION_DAYS/);
    expect(() => loadConfig({ RETENTION_INTERVAL_MS: '10' })).toThrow(/RETENTION_INTERVAL_MS/);
  });
});
