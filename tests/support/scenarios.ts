import { expect } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import { confirmAssociations, essays, essaysReady, outboxEvents, postEvent } from './flow.ts';
import { provisioned, registerBatch, suggested, registeredClassBatch } from './flow.ts';
import type { Harness } from './harness.ts';

/**
 * The REGULAR flow of the contract, step by step through the HTTP API, asserting what a client
 * sees after each step. Shared by the PostgreSQL and the PGlite suites.
 */
export async function regularFlow(h: Harness) {
  const teacher = await h.teacher('teacher-a');
  const { klass, batchId } = await registeredClassBatch(h, teacher, { courseCode: 'SV2', count: 3 });
  const batch0 = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
  expect(batch0.body).toMatchObject({ status: 'awaiting_content_validation', class_id: klass.classId, course_code: 'SV2', language: 'sv' });
  const correlationId = batch0.body.correlation_id as string;

  const early = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
  expect(early.status).toBe(409);
  expect(early.body.allowed_events).toContain(TOPICS.contentProvisioned);

  const list = essays(3);
  const prov = await postEvent(h, provisioned(batchId, list, 'SV2'));
  expect(prov.status).toBe(200);
  expect(prov.body).toMatchObject({ batch_id: batchId, status: 'awaiting_student_validation', duplicate: false });

  const commands = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
  expect(commands).toHaveLength(1);
  expect(commands[0]!.envelope.data).toMatchObject({
    event_name: 'batch.student.matching.initiate.command',
    entity_id: batchId,
    entity_type: 'batch',
    class_id: klass.classId,
    course_code: 'SV2',
  });
  expect(commands[0]!.envelope.data.essays_to_process).toEqual(list);

  const [s0, s1, s2] = klass.students;
  const sugg = await postEvent(
    h,
    suggested(
      batchId,
      klass.classId,
      [
        { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
        { essay: list[1]!, student_id: s1!.student_id, score: 0.8 },
        { essay: list[2]!, student_id: s2!.student_id, score: 0.4 },
      ],
      'SV2',
    ),
  );
  expect(sugg.status).toBe(200);
  const pending = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher });
  expect(pending.status).toBe(200);
  const byEssay = new Map((pending.body.associations as any[]).map((a) => [a.essay_id, a]));
  expect([...byEssay.values()].every((a) => a.validation_status === 'pending_validation' && a.due_at !== null)).toBe(true);
  expect(byEssay.get(list[0]!.essay_id)).toMatchObject({ confidence_level: 'high', student_id: s0!.student_id });
  expect(byEssay.get(list[1]!.essay_id)).toMatchObject({ confidence_level: 'medium' });
  expect(byEssay.get(list[2]!.essay_id)).toMatchObject({ confidence_level: 'low' });

  const tooEarly = await postEvent(h, essaysReady(batchId, list, 'REGULAR', 'SV2'));
  expect(tooEarly.status).toBe(200); // remembered, but the pipeline still waits for validation
  const stillRefused = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
  expect(stillRefused.status).toBe(409);

  const confirm = await confirmAssociations(h, teacher, batchId, [
    { essay_id: list[0]!.essay_id, confirmed: true },
    { essay_id: list[1]!.essay_id, confirmed: true },
    { essay_id: list[2]!.essay_id, student_id: s1!.student_id, confirmed: true },
  ]);
  expect(confirm.status).toBe(200);
  expect(confirm.body.results.map((r: any) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
  expect(confirm.body.status).toBe('ready_for_pipeline_execution');

  const confirmed = (await outboxEvents(h, TOPICS.associationsConfirmed)).filter((e) => e.batch_id === batchId);
  expect(confirmed).toHaveLength(1);
  const event = confirmed[0]!.envelope;
  expect(event.correlation_id).toBe(correlationId);
  expect(event.data).toMatchObject({
    batch_id: batchId,
    class_id: klass.classId,
    course_code: 'SV2',
    timeout_triggered: false,
    validation_summary: { total_associations: 3, confirmed: 3, human_validated: 3 },
  });
  expect(event.data.associations.every((a: any) => a.validation_method === 'human' && a.validated_by === 'teacher-a')).toBe(true);
  expect(event.data.associations.find((a: any) => a.essay_id === list[2]!.essay_id).student_id).toBe(s1!.student_id);

  const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
  expect(started.status).toBe(202);
  expect(started.body.status).toBe('ready_for_pipeline_execution');
  const spellcheck = (await outboxEvents(h, TOPICS.spellcheckCommand)).filter((e) => e.batch_id === batchId);
  expect(spellcheck.map((e) => e.envelope.data)).toEqual([
    expect.objectContaining({ entity_id: batchId, essays_to_process: list, language: 'sv' }),
  ]);

  const history = await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
  const applied = (history.body.history as any[]).filter((r) => r.outcome === 'applied');
  expect(applied.map((r) => r.to_state)).toEqual([
    'awaiting_content_validation',
    'awaiting_student_validation.awaiting_suggestions',
    'awaiting_student_validation.awaiting_teacher',
    'awaiting_student_validation.awaiting_teacher',
    'ready_for_pipeline_execution',
    'ready_for_pipeline_execution',
  ]);
  expect((history.body.history as any[]).filter((r) => r.outcome === 'refused')).toHaveLength(2);
  return { batchId, teacher, klass };
}

/**
 * A GUEST batch driven only by what the real services send: content provisioning, then the
 * client's pipeline request. A BatchEssaysReady that arrives anyway is accepted and changes nothing.
 */
export async function guestFlow(h: Harness) {
  const teacher = await h.teacher('teacher-guest');
  const batchId = await registerBatch(h, teacher, { course_code: 'ENG6', expected_essay_count: 2 });
  const list = essays(2);
  const prov = await postEvent(h, provisioned(batchId, list, 'ENG6'));
  expect(prov.body.status).toBe('ready_for_pipeline_execution');
  expect((await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId)).toHaveLength(0);
  const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, {
    token: teacher,
    body: { pipeline: 'nlp', prompt_payload: { assignment_id: 'assignment-9' } },
  });
  expect(started.status).toBe(202);
  const spellcheck = (await outboxEvents(h, TOPICS.spellcheckCommand)).filter((e) => e.batch_id === batchId);
  expect(spellcheck.map((e) => e.envelope.data)).toEqual([
    expect.objectContaining({
      event_name: 'batch.spellcheck.initiate.command',
      entity_id: batchId,
      essays_to_process: list,
      language: 'en',
    }),
  ]);
  const anyway = await postEvent(h, essaysReady(batchId, list, 'GUEST', 'ENG6'));
  expect(anyway.status).toBe(200);
  expect(anyway.body.status).toBe('ready_for_pipeline_execution');
  const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
  expect(batch.body.prompt_payload).toEqual({ assignment_id: 'assignment-9' });
  expect(batch.body.student_prompt_ref).toEqual({ references: { student_prompt_text: { storage_id: `prompt-${batchId.slice(0, 8)}` } } });
  const history = await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher });
  expect((history.body.history as any[]).filter((r) => r.outcome === 'applied').map((r) => [r.event_type, r.to_state])).toEqual([
    ['BATCH_REGISTERED', 'awaiting_content_validation'],
    [TOPICS.contentProvisioned, 'ready_for_pipeline_execution'],
    [TOPICS.pipelineRequest, 'ready_for_pipeline_execution'],
    [TOPICS.essaysReady, 'ready_for_pipeline_execution'],
  ]);
  return { batchId, teacher };
}
