import { initialTransition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { batchMachine } from '../../../machines/batch.ts';
import { TOPICS } from '../../../machines/events.ts';
import { BATCH_ID, CLASS_ID, ESSAYS, PROVISIONED_AT, batchInput } from './support.ts';
import { contentProvisioned, accept, single, registered, AWAITING_SUGGESTIONS } from './support.ts';

describe('registering a batch', () => {
  it('starts a class batch as a REGULAR batch awaiting content, emitting nothing', () => {
    const [snapshot, actions] = initialTransition(batchMachine, batchInput());
    expect(snapshot.value).toBe('awaiting_content_validation');
    expect(actions).toEqual([]);
    expect(snapshot.context).toEqual({
      ...batchInput(),
      class_type: 'REGULAR',
      language: 'en',
      essays: [],
      associations: {},
      association_counts: { total: 0, pending: 0 },
      deadline: null,
      deadline_version: 0,
      pause: null,
      timeout_triggered: false,
      essays_stored: false,
      pipeline: null,
      prompt_payload: null,
      student_prompt_ref: null,
      validation_errors: 0,
      org_id: null,
      assignment_id: null,
      cj_default_llm_model: null,
      cj_default_temperature: null,
      pipeline_state: null,
      skipped_pipeline_requests: 0,
      denied_pipeline_requests: 0,
    });
  });

  it('makes a batch without a class a GUEST batch', () => {
    expect(registered({ class_id: null }).context.class_type).toBe('GUEST');
  });

  it('takes the language from the course: Swedish for SV courses', () => {
    expect(registered({ course_code: 'SV2' }).context.language).toBe('sv');
  });
});

describe('content provisioning', () => {
  it('sends a REGULAR batch to student validation with the student-matching command', () => {
    const { next, emitted } = accept(registered(), contentProvisioned());
    expect(next.value).toEqual(AWAITING_SUGGESTIONS);
    expect(next.context.essays).toEqual(ESSAYS);
    expect(single(emitted, TOPICS.studentMatchingCommand)).toEqual({
      event_name: 'batch.student.matching.initiate.command',
      entity_id: BATCH_ID,
      entity_type: 'batch',
      parent_id: null,
      timestamp: PROVISIONED_AT,
      essays_to_process: ESSAYS,
      class_id: CLASS_ID,
      course_code: 'ENG6',
    });
  });

  it("carries the batch's own course in the student-matching command", () => {
    const { emitted } = accept(registered({ course_code: 'SV3' }), contentProvisioned());
    expect(single(emitted, TOPICS.studentMatchingCommand).course_code).toBe('SV3');
  });

  it('makes a GUEST batch ready for pipelines at once, without any matching, as the real orchestrator does', () => {
    const { next, emitted } = accept(registered({ class_id: null }), contentProvisioned());
    expect(next.value).toBe('ready_for_pipeline_execution');
    expect(next.context.essays).toEqual(ESSAYS);
    expect(emitted).toEqual([]);
  });

  it('fails a REGULAR batch whose provisioning produced no essays, without asking the matcher', () => {
    const { next, emitted } = accept(registered(), contentProvisioned([], 0));
    expect(next.value).toBe('content_ingestion_failed');
    expect(next.status).toBe('done');
    expect(emitted).toEqual([]);
  });

  it('fails a GUEST batch whose provisioning produced no essays', () => {
    const { next } = accept(registered({ class_id: null }), contentProvisioned([], 0));
    expect(next.value).toBe('content_ingestion_failed');
    expect(next.status).toBe('done');
  });
});
