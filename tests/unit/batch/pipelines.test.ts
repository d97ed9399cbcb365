import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../machines/events.ts';
import { type BatchSnapshot, BATCH_ID, E1, E2, E3, ESSAYS, DECIDED_AT, contentProvisioned, authorMatches } from './support.ts';
import { teacherDecisions, confirmed, validationTimeout, essaysReady, pipelineRequested, phaseOutcome, accept } from './support.ts';
import { expectRefused, single, registered, awaitingSuggestions, awaitingTeacher, validationCompleted } from './support.ts';
import { regularReady, guestReady, pipelineRunning, AWAITING_SUGGESTIONS, AWAITING_TEACHER } from './support.ts';

describe('essays being stored', () => {
  it('makes a REGULAR batch with settled associations ready for pipelines', () => {
    const { next } = accept(validationCompleted(), essaysReady('REGULAR'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.essays_stored).toBe(true);
  });

  it('refuses stored essays reported for the wrong class type after validation', () => {
    expectRefused(validationCompleted(), essaysReady('GUEST'));
  });

  it('remembers essays stored while waiting for suggestions, without leaving validation', () => {
    const { next, emitted } = accept(awaitingSuggestions(), essaysReady('REGULAR'));
    expect(next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(next.context.essays_stored).toBe(true);
    expect(emitted).toEqual([]);
  });

  it('remembers essays stored while waiting for the teacher, without leaving validation', () => {
    const { next } = accept(awaitingTeacher(), essaysReady('REGULAR'));
    expect(next.value).toEqual(AWAITING_TEACHER);
    expect(next.context.essays_stored).toBe(true);
  });

  it('refuses a second early report of stored essays', () => {
    const stored = accept(awaitingSuggestions(), essaysReady('REGULAR')).next;
    expectRefused(stored, essaysReady('REGULAR'));
  });

  it('refuses early stored essays reported for the wrong class type', () => {
    expectRefused(awaitingSuggestions(), essaysReady('GUEST'));
    expectRefused(awaitingTeacher(), essaysReady('GUEST'));
  });

  it('goes straight to ready when the teacher finishes after the essays were stored', () => {
    const stored = accept(awaitingSuggestions(), essaysReady('REGULAR')).next;
    const suggested = accept(stored, authorMatches()).next;
    const { next, emitted } = accept(suggested, teacherDecisions(confirmed(E1), confirmed(E2), confirmed(E3)));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.deadline).toBeNull();
    expect(single(emitted, TOPICS.associationsConfirmed).validation_summary.confirmed).toBe(3);
  });

  it('goes straight to ready when the deadline settles a batch whose essays were stored', () => {
    const stored = accept(awaitingTeacher(), essaysReady('REGULAR')).next;
    const { next, emitted } = accept(stored, validationTimeout(1));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(single(emitted, TOPICS.associationsConfirmed).timeout_triggered).toBe(true);
  });
});

describe('pipeline requests', () => {
  it('commands spellcheck, the first phase of every real pipeline, and stays ready as the real orchestrator does', () => {
    const { next, emitted } = accept(regularReady(), pipelineRequested('cj_assessment'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.pipeline).toBe('cj_assessment');
    expect(next.context.prompt_payload).toEqual({ assignment_id: 'assignment-1' });
    expect(single(emitted, TOPICS.spellcheckCommand)).toEqual({
      event_name: 'batch.spellcheck.initiate.command',
      entity_id: BATCH_ID,
      entity_type: 'batch',
      parent_id: null,
      timestamp: DECIDED_AT,
      essays_to_process: ESSAYS,
      language: 'en',
    });
  });

  it("starts the pipeline of a ready GUEST batch in the course's language", () => {
    const { emitted } = accept(
      accept(registered({ class_id: null, course_code: 'SV1' }), contentProvisioned()).next,
      pipelineRequested('nlp'),
    );
    expect(single(emitted, TOPICS.spellcheckCommand).language).toBe('sv');
  });

  it('skips a request while a pipeline runs, as the real orchestrator does: nothing is sent', () => {
    const { next, emitted } = accept(pipelineRunning(), pipelineRequested('ai_feedback'));
    expect(next.context.pipeline).toBe('nlp');
    expect(next.context.skipped_pipeline_requests).toBe(1);
    expect(emitted).toEqual([]);
  });

  it('starts a later pipeline at its first phase not yet completed', () => {
    const done = accept(pipelineRunning(), phaseOutcome()).next;
    const { next, emitted } = accept(done, pipelineRequested('cj_assessment'));
    expect(next.context.pipeline).toBe('cj_assessment');
    expect(emitted.map((e) => e.type)).toEqual([TOPICS.cjAssessmentCommand, TOPICS.teacherNotification]);
    expect(next.context.pipeline_state?.phases.cj_assessment?.status).toBe('dispatch_initiated');
  });

  const beforeReady: Array<[string, () => BatchSnapshot]> = [
    ['the content is provisioned', registered],
    ['the matcher has suggested authors', awaitingSuggestions],
    ['the matcher has suggested authors, even with the essays stored', () => accept(awaitingSuggestions(), essaysReady('REGULAR')).next],
    ['the teacher has decided', awaitingTeacher],
    ['the teacher has decided, even with the essays stored', () => accept(awaitingTeacher(), essaysReady('REGULAR')).next],
    ['the essays are stored after validation', validationCompleted],
  ];

  it.each(beforeReady)('refuses a pipeline request before %s', (_when, reach) => {
    expectRefused(reach(), pipelineRequested());
  });
});

describe('GUEST batches and BatchEssaysReady', () => {
  it('accepts a BatchEssaysReady for a ready GUEST batch and changes nothing that matters', () => {
    const before = guestReady();
    const { next, emitted } = accept(before, essaysReady('GUEST'));
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(emitted).toEqual([]);
    expect(next.context.essays).toEqual(before.context.essays);
  });

  it('refuses a BatchEssaysReady claiming REGULAR for a GUEST batch', () => {
    expectRefused(guestReady(), essaysReady('REGULAR'));
  });
});
