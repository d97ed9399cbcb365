import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlementsChecker } from '../../app/credits.ts';
import { type EntitlementsStub, startEntitlements } from '../support/entitlements.ts';
import { sql } from 'drizzle-orm';
import { validationTimeout } from '../../app/commands.ts';
import { TOPICS } from '../../machines/events.ts';
import { essays, essaysReady, outboxEvents, pipelineRequest, postEvent, provisioned } from '../support/flow.ts';
import { provisionedClassBatch, real, registerBatch, suggested, validationErrors, registeredClassBatch } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { DEADLINE_DECIDES_TWO } from '../support/topics.ts';
import { guestFlow, regularFlow } from '../support/scenarios.ts';
import { WIRE_TOPICS, wireProblems } from '../support/wire.ts';

/**
 * The wire contract: every event this service writes to the outbox, in every flow below, parses
 * as a real HuleEdu consumer parses it: the envelope against envelope.json, then `data` against
 * its topic's schema (generated from the real pydantic models). A topic no real model has fails.
 */
describe('the real HuleEdu wire format', () => {
  // A real entitlements service with 5 credits: a CJ run of up to 3 essays is allowed, 4 is not.
  let entitlements: EntitlementsStub | undefined;
  beforeAll(async () => {
    entitlements = await startEntitlements(5);
  });
  afterAll(() => entitlements?.close());
  const h = harnessForSuite({
    label: 'wire',
    validationTimeoutMs: 24 * 3_600_000,
    credits: (batch, phases) => entitlementsChecker(entitlements!.url)(batch, phases),
  });

  const ready = (batchId: string, status: string) => expect(status, `batch ${batchId}`).toBe('ready_for_pipeline_execution');

  async function deadlinePasses(batchId: string) {
    // The deadline guard applies a timeout only once it is due: the clock moves on, in SQL.
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
    const outcome = await h.service.apply(validationTimeout(batchId, 1, 'sweep'));
    expect(outcome.kind).toBe('applied');
  }

  it('REGULAR, the teacher decides; the essays were ready before the confirmation', async () => {
    await regularFlow(h);
  });

  it('REGULAR, the deadline decides, and the essays are ready after it: the pipeline starts', async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId, list } = await provisionedClassBatch(h, teacher, { students: 2, count: 2 });
    await postEvent(
      h,
      suggested(batchId, klass.classId, [
        { essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.9 },
        { essay: list[1]!, student_id: klass.students[1]!.student_id, score: 0.3 },
      ]),
    );
    await deadlinePasses(batchId);
    ready(batchId, (await postEvent(h, essaysReady(batchId, list, 'REGULAR'))).body.status);
    expect((await postEvent(h, pipelineRequest(batchId, 'cj_assessment'))).status).toBe(200);
    const topics = (await outboxEvents(h)).filter((e) => e.batch_id === batchId).map((e) => e.topic);
    expect(topics).toEqual([
      TOPICS.essaysRegistered,
      TOPICS.studentMatchingCommand,
      TOPICS.teacherNotification,
      ...DEADLINE_DECIDES_TWO,
      TOPICS.spellcheckCommand,
      TOPICS.teacherNotification,
    ]);
  });

  it('GUEST, pipelines after one another: each starts at its first phase not yet done, and one is denied its credits', async () => {
    const teacher = await h.teacher('teacher-a');
    const phaseDone = (batchId: string, phase: string) =>
      real(TOPICS.phaseOutcome, {
        batch_id: batchId,
        phase_name: phase,
        phase_status: 'completed_successfully',
        processed_essays: [],
        failed_essay_ids: [],
      });
    const batchId = await registerBatch(h, teacher, { course_code: 'SV2', expected_essay_count: 2 });
    await postEvent(h, provisioned(batchId, essays(2), 'SV2'));
    expect((await postEvent(h, pipelineRequest(batchId, 'ai_feedback'))).status).toBe(200);
    await postEvent(h, phaseDone(batchId, 'spellcheck'));
    expect((await postEvent(h, pipelineRequest(batchId, 'nlp'))).status).toBe(200);
    await postEvent(h, phaseDone(batchId, 'nlp'));
    expect((await postEvent(h, pipelineRequest(batchId, 'ai_feedback'))).status).toBe(200);
    expect((await postEvent(h, pipelineRequest(batchId, 'cj_assessment'))).status).toBe(200);
    const commands = (await outboxEvents(h))
      .filter((e) => e.batch_id === batchId && e.topic !== TOPICS.teacherNotification)
      .map((e) => e.topic);
    // ai_feedback in its last phase lets another pipeline start, as the real orchestrator does: CJ (1 credit).
    expect(commands).toEqual([
      TOPICS.essaysRegistered,
      TOPICS.spellcheckCommand,
      TOPICS.nlpCommand,
      TOPICS.aiFeedbackCommand,
      TOPICS.cjAssessmentCommand,
    ]);

    const big = await registerBatch(h, teacher, { course_code: 'ENG7', expected_essay_count: 4 });
    await postEvent(h, provisioned(big, essays(4), 'ENG7'));
    expect((await postEvent(h, pipelineRequest(big, 'cj_assessment'))).status).toBe(200);
    expect((await outboxEvents(h)).filter((e) => e.batch_id === big).map((e) => e.topic)).toEqual([
      TOPICS.essaysRegistered,
      TOPICS.pipelineDenied,
      TOPICS.teacherNotification,
    ]);
  });

  it('REGULAR, mixed: the teacher decides one, the deadline the rest, the essays were ready first', async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId } = await registeredClassBatch(h, teacher, { courseCode: 'SV1', students: 2, count: 3 });
    const list = essays(3);
    await postEvent(h, provisioned(batchId, list, 'SV1'));
    await postEvent(h, validationErrors(batchId, [list[2]!.essay_id], false));
    await postEvent(h, essaysReady(batchId, list, 'REGULAR', 'SV1'));
    await postEvent(
      h,
      suggested(
        batchId,
        klass.classId,
        [
          { essay: list[0]!, student_id: klass.students[0]!.student_id, score: 0.95 },
          { essay: list[1]!, student_id: klass.students[1]!.student_id, score: 0.75 },
          { essay: list[2]!, score: 0 },
        ],
        'SV1',
      ),
    );
    const decided = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: [{ essay_id: list[0]!.essay_id, student_id: klass.students[1]!.student_id, confirmed: true }] },
    });
    expect(decided.status).toBe(200);
    await deadlinePasses(batchId);
    const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'ai_feedback' } });
    expect(started.status).toBe(202);
  });

  it('GUEST, driven only by provisioning and the pipeline request', async () => {
    await guestFlow(h);
  });

  it('cancel, and the failures: nothing provisioned, and a critical validation failure', async () => {
    const teacher = await h.teacher('teacher-a');
    const cancelled = await registerBatch(h, teacher, { course_code: 'ENG7', expected_essay_count: 1 });
    expect((await h.api('POST', `/v1/batches/${cancelled}/cancel`, { token: teacher, body: {} })).status).toBe(200);
    const empty = await registerBatch(h, teacher, { course_code: 'ENG7', expected_essay_count: 1 });
    expect((await postEvent(h, provisioned(empty, [], 'ENG7'))).body.status).toBe('content_ingestion_failed');
    const broken = await registerBatch(h, teacher, { course_code: 'ENG7', expected_essay_count: 2 });
    const failed = await postEvent(h, validationErrors(broken, [crypto.randomUUID(), crypto.randomUUID()], true));
    expect(failed.body.status).toBe('failed_critically');
    const history = await h.api('GET', `/v1/batches/${broken}/history`, { token: teacher });
    expect(history.body.history.at(-1)).toMatchObject({
      event_type: TOPICS.validationErrors,
      to_state: 'failed_critically',
      detail: { critical_failure: true, total_errors: 2 },
    });
  });

  it('every outbound event of every flow above parses as the real consumer parses it', async () => {
    const events = await outboxEvents(h);
    const outbound = new Set(WIRE_TOPICS.filter((t) => t.direction === 'outbound').map((t) => t.topic));
    const seen = new Set(events.map((e) => e.topic));
    // Every outbound topic is exercised.
    expect([...outbound].filter((t) => !seen.has(t))).toEqual([]);
    const problems = events.flatMap((e) => wireProblems(e.envelope, 'outbound', e.batch_id).map((p) => `${e.topic}: ${p}`));
    expect(problems).toEqual([]);
    expect(events.length).toBeGreaterThan(20);
  });

  it('names a missing required field, an unknown topic and a bad envelope (the check can fail)', () => {
    const command = {
      event_type: TOPICS.studentMatchingCommand,
      source_service: 's',
      data: { essays_to_process: [], class_id: 'c', course_code: 'ENG5' },
    };
    expect(wireProblems(command)).toEqual([
      `${TOPICS.studentMatchingCommand} (BatchServiceStudentMatchingInitiateCommandDataV1) data must have required property 'event_name'`,
    ]);
    expect(wireProblems({ ...command, event_type: 'huleedu.batch.pipeline.execution.started.v1' })).toEqual([
      'huleedu.batch.pipeline.execution.started.v1: no real HuleEdu model has this topic',
    ]);
    expect(wireProblems({ event_type: 'x', data: {} })).toEqual(["envelope must have required property 'source_service'"]);
    const withoutEntity = { ...command, data: { ...command.data, event_name: 'batch.student.matching.initiate.command' } };
    expect(wireProblems(withoutEntity, 'outbound', 'b-1')).toEqual([
      `${TOPICS.studentMatchingCommand} (BatchServiceStudentMatchingInitiateCommandDataV1) data.entity_id is undefined, not the batch id the real consumer reads from it`,
    ]);
  });
});
