import { randomUUID } from 'node:crypto';
import { TOPICS } from '../machines/events.ts';
import type { CourseCode } from '../machines/domain.ts';

/** Wire envelopes as the other services send them, for the event mix. */

export interface EssayRef {
  essay_id: string;
  text_storage_id: string;
}

export interface ClassFixture {
  classId: string;
  ownerId: string;
  courseCode: CourseCode;
  studentIds: string[];
}

const SOURCE = 'huleedu-bench';

function envelope(eventType: string, data: Record<string, unknown>) {
  return {
    event_id: randomUUID(),
    event_type: eventType,
    event_timestamp: new Date().toISOString(),
    source_service: SOURCE,
    correlation_id: randomUUID(),
    data,
  };
}

export function freshEssays(count: number): EssayRef[] {
  return Array.from({ length: count }, (_, i) => ({ essay_id: randomUUID(), text_storage_id: `storage-${randomUUID()}-${i}` }));
}

export function contentProvisioned(batchId: string, cls: ClassFixture, essays: EssayRef[]) {
  return envelope(TOPICS.contentProvisioned, {
    batch_id: batchId,
    provisioned_count: essays.length,
    expected_count: essays.length,
    course_code: cls.courseCode,
    user_id: cls.ownerId,
    essays_for_processing: essays,
  });
}

/** Scores spread over high, medium and low confidence; the last essay has no suggestion at all. */
export function authorMatchesSuggested(batchId: string, cls: ClassFixture, essays: EssayRef[]) {
  const scores = [0.95, 0.82, 0.55];
  return envelope(TOPICS.authorMatchesSuggested, {
    batch_id: batchId,
    class_id: cls.classId,
    course_code: cls.courseCode,
    match_results: essays.map((essay, i) => ({
      essay_id: essay.essay_id,
      text_storage_id: essay.text_storage_id,
      filename: `essay-${i}.docx`,
      suggestions:
        i === essays.length - 1 && essays.length > 1
          ? []
          : [
              {
                student_id: cls.studentIds[i % cls.studentIds.length]!,
                student_name: `Student ${i}`,
                confidence_score: scores[i % scores.length]!,
                match_reasons: ['name in header', 'email in footer'],
              },
            ],
    })),
    processing_summary: { total_essays: essays.length },
  });
}

export function essaysReady(batchId: string, cls: ClassFixture, essays: EssayRef[]) {
  return envelope(TOPICS.essaysReady, {
    batch_id: batchId,
    ready_essays: essays,
    course_code: cls.courseCode,
    course_language: cls.courseCode.startsWith('ENG') ? 'en' : 'sv',
    class_type: 'REGULAR',
  });
}

export type Decision = { essay_id: string; confirmed: boolean; student_id?: string };

/**
 * The teacher's two sittings: first they accept the suggestions for the first half, then settle the
 * rest, naming a student where the matcher had none (or a different one).
 */
export function teacherDecisions(cls: ClassFixture, essays: EssayRef[], sitting: 1 | 2): Decision[] {
  const half = Math.ceil(essays.length / 2);
  if (sitting === 1) return essays.slice(0, half).map((e) => ({ essay_id: e.essay_id, confirmed: true }));
  return essays.slice(half).map((e, i) => ({
    essay_id: e.essay_id,
    confirmed: true,
    student_id: cls.studentIds[(half + i + 7) % cls.studentIds.length]!,
  }));
}

/** The same decisions as the two sittings, one essay per request, as a teacher going down the list. */
export function oneDecisionPerRequest(cls: ClassFixture, essays: EssayRef[]): Decision[][] {
  return [...teacherDecisions(cls, essays, 1), ...teacherDecisions(cls, essays, 2)].map((decision) => [decision]);
}
