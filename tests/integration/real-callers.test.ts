import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entitlementsChecker } from '../../app/credits.ts';
import { TOPICS } from '../../machines/events.ts';
import { type EntitlementsStub, startEntitlements } from '../support/entitlements.ts';
import { createClassWithStudents, envelope, essays, essaysReady, outboxEvents } from '../support/flow.ts';
import { pipelineRequest, postEvent, provisioned, real, rowCounts, uuid } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { wireProblems } from '../support/wire.ts';

/**
 * The doors the real HuleEdu services call, with the bodies their code sends (the gateway's
 * BatchRegistrationRequestV1, the File Service's pipeline-state check, the gateway's preflight, the
 * class service client's confirm body) and the answers their code reads.
 */
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const pipelineStateSchema = ajv.compile(
  JSON.parse(readFileSync(new URL('../fixtures/huleedu/http/processing-pipeline-state.json', import.meta.url), 'utf8')),
);

const TEACHER = 'teacher-real';
const ORG = 'org-gothenburg-7';
const gateway = { 'x-user-id': TEACHER, 'x-org-id': ORG, 'x-correlation-id': '6b1f0f4e-6a7f-4a67-9a0e-4d1b2c3d4e5f' };

describe('the doors of the real HuleEdu callers', () => {
  let entitlements: EntitlementsStub;
  beforeAll(async () => {
    entitlements = await startEntitlements(0);
  });
  afterAll(() => entitlements.close());
  const h = harnessForSuite({ label: 'real_callers', credits: (batch, phases) => entitlementsChecker(entitlements.url)(batch, phases) });

  const mine = async (batchId: string, topic?: string) => (await outboxEvents(h, topic)).filter((e) => e.batch_id === batchId);

  it('registers a batch through the gateway door (202), keeping org_id and the prompt, and reports its pipeline state to the File Service', async () => {
    const token = await h.teacher(TEACHER);
    const klass = await createClassWithStudents(h, token, 'SV1', 2);
    const essayIds = [uuid(), uuid()];
    const body = {
      expected_essay_count: 2,
      essay_ids: essayIds,
      course_code: 'SV1',
      student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-sv1' } } },
      user_id: TEACHER,
      org_id: null,
      class_id: klass.classId,
      cj_default_llm_model: 'gpt-5-mini',
      cj_default_temperature: 0.2,
      assignment_id: 'essay-2026-w49',
    };
    const registered = await h.internalApi('POST', '/v1/batches/register', { headers: gateway, body });
    expect(registered.status).toBe(202);
    expect(Object.keys(registered.body).sort()).toEqual(['batch_id', 'correlation_id', 'status']);
    expect(registered.body).toMatchObject({ status: 'registered', correlation_id: gateway['x-correlation-id'] });
    const batchId = registered.body.batch_id as string;

    const [announced] = await mine(batchId, TOPICS.essaysRegistered);
    expect(wireProblems(announced!.envelope, 'outbound', batchId)).toEqual([]);
    // org_id from the gateway's X-Org-ID when the body has none, as the gateway fills it from the JWT.
    expect(announced!.envelope.data).toMatchObject({
      essay_ids: essayIds,
      org_id: ORG,
      student_prompt_ref: body.student_prompt_ref,
      class_id: klass.classId,
    });
    expect(announced!.envelope.metadata).toMatchObject({ user_id: TEACHER, org_id: ORG });

    const state = await h.internalApi('GET', `/internal/v1/batches/${batchId}/pipeline-state`);
    expect(state.status).toBe(200);
    expect(state.headers.get('content-type')).toMatch(/^application\/json/);
    expect(state.body.user_id).toBe(TEACHER);
    expect(pipelineStateSchema(state.body.pipeline_state), JSON.stringify(pipelineStateSchema.errors)).toBe(true);
    expect(state.body.pipeline_state).toMatchObject({ batch_id: batchId, requested_pipelines: [], spellcheck: null, nlp: null });

    const unknown = await h.internalApi('GET', `/internal/v1/batches/${uuid()}/pipeline-state`);
    expect(unknown.status).toBe(404);
    // aiohttp's resp.json() in the File Service reads only application/json, also for a 404.
    expect(unknown.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('refuses a registration for another user, and one without X-User-ID, changing nothing', async () => {
    const before = await rowCounts(h);
    const body = { expected_essay_count: 1, course_code: 'ENG5', user_id: 'someone-else' };
    expect((await h.internalApi('POST', '/v1/batches/register', { headers: gateway, body })).status).toBe(403);
    expect((await h.internalApi('POST', '/v1/batches/register', { body: { ...body, user_id: TEACHER } })).status).toBe(401);
    expect(
      (
        await h.internalApi('POST', '/v1/batches/register', {
          headers: gateway,
          body: { ...body, user_id: TEACHER, expected_essay_count: 0 },
        })
      ).status,
    ).toBe(400);
    expect(await rowCounts(h)).toEqual(before);
  });

  it('takes a REGULAR batch from registration to the first phase command, through the doors and events the real services use', async () => {
    const token = await h.teacher(TEACHER);
    // A Swedish class made through the class service's routes behind the gateway (the real E2E roster).
    const created = await h.internalApi('POST', '/v1/classes/', { headers: gateway, body: { name: 'SV 9C', course_codes: ['SV2'] } });
    expect(created.status).toBe(201);
    const classId = created.body.id as string;
    const roster = [
      {
        person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' },
        email: 'emil.zäll.jernberg@test.edu',
      },
      { person_name: { first_name: 'Anna', last_name: 'Höglund Öman' }, email: 'anna.höglund.öman@test.edu' },
      { person_name: { first_name: 'Liam', last_name: '' } },
    ];
    for (const student of roster) {
      expect(
        (await h.internalApi('POST', '/v1/classes/students', { headers: gateway, body: { ...student, class_ids: [classId] } })).status,
      ).toBe(201);
    }
    const registered = await h.internalApi('POST', '/v1/batches/register', {
      headers: gateway,
      body: { expected_essay_count: 3, course_code: 'SV2', user_id: TEACHER, org_id: ORG, class_id: classId },
    });
    expect(registered.status).toBe(202);
    const batchId = registered.body.batch_id as string;
    const list = essays(3);

    // The File Service's check before the upload: nothing dispatched, the owner is the teacher.
    expect((await h.internalApi('GET', `/internal/v1/batches/${batchId}/pipeline-state`)).body.user_id).toBe(TEACHER);
    expect((await postEvent(h, provisioned(batchId, list, 'SV2'))).status).toBe(200);
    const [matching] = await mine(batchId, TOPICS.studentMatchingCommand);
    expect(matching!.envelope.metadata.org_id).toBe(ORG);

    // The NLP matcher reads the roster from the class service's door (no credential) and copies the e-mails.
    const nlpRoster = await h.internalApi('GET', `/v1/classes/${classId}/roster`);
    expect(nlpRoster.status).toBe(200);
    const [s0, s1] = (
      nlpRoster.body.students as Array<{ student_id: string; full_legal_name: string; email: string | null; last_name: string }>
    ).filter((st) => st.last_name !== '');
    const suggestions = real(TOPICS.authorMatchesSuggested, {
      batch_id: batchId,
      class_id: classId,
      course_code: 'SV2',
      match_results: list.map((essay, i) => ({
        essay_id: essay.essay_id,
        text_storage_id: essay.text_storage_id,
        filename: '',
        suggestions:
          i === 2
            ? []
            : [
                {
                  student_id: [s0, s1][i]!.student_id,
                  student_name: [s0, s1][i]!.full_legal_name,
                  student_email: [s0, s1][i]!.email,
                  confidence_score: 0.92,
                  match_reasons: ['name in header'],
                },
              ],
      })),
      processing_summary: { total_essays: 3, matched: 2 },
    });
    expect((await postEvent(h, suggestions)).status).toBe(200);
    const [required] = (await mine(batchId, TOPICS.teacherNotification)).filter(
      (e) => e.envelope.data.notification_type === 'student_matching_confirmation_required',
    );
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token });
    expect(required!.envelope.data).toMatchObject({ teacher_id: TEACHER, priority: 'critical', action_required: true, batch_id: batchId });
    expect(Date.parse(required!.envelope.data.deadline_timestamp)).toBe(Date.parse(batch.body.validation.due_at));

    // The class service client's body: confirmation_method, and student_id null for the essay with no match.
    const partial = await h.internalApi('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      headers: gateway,
      body: {
        associations: [{ essay_id: list[0]!.essay_id, student_id: s0!.student_id, confirmed: true }],
        confirmation_method: 'manual_teacher_review',
      },
    });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({
      associations_confirmed: 1,
      associations_rejected: 0,
      state: 'awaiting_student_validation.awaiting_teacher',
    });
    const rest = await h.internalApi('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      headers: gateway,
      body: {
        associations: [
          { essay_id: list[1]!.essay_id, student_id: s1!.student_id, confirmed: true },
          { essay_id: list[2]!.essay_id, student_id: null, confirmed: false },
        ],
        confirmation_method: 'manual_teacher_review',
        user_id: TEACHER,
      },
    });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ associations_confirmed: 1, associations_rejected: 1, state: 'student_validation_completed' });
    expect((await postEvent(h, essaysReady(batchId, list, 'REGULAR', 'SV2'))).body.state).toBe('ready_for_pipeline_execution');

    // The gateway's preflight, then its Kafka command.
    const preflight = await h.internalApi('POST', `/internal/v1/batches/${batchId}/pipelines/nlp/preflight`, {
      headers: { 'x-correlation-id': gateway['x-correlation-id'] },
    });
    expect(preflight.status).toBe(200);
    expect(preflight.body).toMatchObject({
      allowed: true,
      batch_id: batchId,
      requested_pipeline: 'nlp',
      resolved_pipeline: ['spellcheck', 'nlp'],
      required_credits: 0,
    });
    for (let i = 0; i < 3; i++) expect((await postEvent(h, pipelineRequest(batchId, 'nlp', TEACHER))).status).toBe(200);
    const commands = await mine(batchId, TOPICS.spellcheckCommand);
    expect(commands).toHaveLength(1);
    expect(commands[0]!.envelope.metadata).toMatchObject({ user_id: TEACHER, org_id: ORG });
    const started = (await mine(batchId, TOPICS.teacherNotification)).filter(
      (e) => e.envelope.data.notification_type === 'batch_processing_started',
    );
    expect(started.map((e) => e.envelope.data.payload)).toEqual([
      expect.objectContaining({
        requested_pipeline: 'nlp',
        resolved_pipeline: ['spellcheck', 'nlp'],
        first_phase: 'spellcheck',
        total_phases: 2,
      }),
    ]);

    const state = await h.internalApi('GET', `/internal/v1/batches/${batchId}/pipeline-state`);
    expect(pipelineStateSchema(state.body.pipeline_state)).toBe(true);
    expect(state.body.pipeline_state).toMatchObject({
      requested_pipelines: ['spellcheck', 'nlp'],
      spellcheck: { status: 'dispatch_initiated' },
      nlp: { status: 'pending_dependencies' },
    });

    // Spellcheck done: a later nlp request starts at nlp, the first phase not yet completed.
    const outcome = envelope(TOPICS.phaseOutcome, {
      batch_id: batchId,
      phase_name: 'spellcheck',
      phase_status: 'completed_successfully',
      processed_essays: list,
      failed_essay_ids: [],
      correlation_id: uuid(),
    });
    expect(wireProblems(outcome, 'inbound')).toEqual([]);
    expect((await postEvent(h, outcome)).status).toBe(200);
    expect((await postEvent(h, pipelineRequest(batchId, 'nlp', TEACHER))).status).toBe(200);
    const [nlp] = await mine(batchId, TOPICS.nlpCommand);
    expect(nlp!.envelope.data).toMatchObject({ entity_id: batchId, language: 'sv' });
    expect(nlp!.envelope.data.essays_to_process).toHaveLength(3);

    for (const event of await mine(batchId)) expect(wireProblems(event.envelope, 'outbound', batchId), event.topic).toEqual([]);
  });

  it('asks the entitlements service for a billable pipeline: the preflight answers 402, the request is denied with PipelineDeniedV1 and a notification', async () => {
    const token = await h.teacher(TEACHER);
    const registered = await h.internalApi('POST', '/v1/batches/register', {
      headers: gateway,
      body: { expected_essay_count: 3, course_code: 'ENG6', user_id: TEACHER },
    });
    const batchId = registered.body.batch_id as string;
    const list = essays(3);
    await postEvent(h, provisioned(batchId, list, 'ENG6'));
    const asked = entitlements.asked.length;
    const preflight = await h.internalApi('POST', `/internal/v1/batches/${batchId}/pipelines/cj_assessment/preflight`);
    expect(preflight.status).toBe(402);
    expect(preflight.body).toMatchObject({
      allowed: false,
      denial_reason: 'insufficient_credits',
      required_credits: 3,
      available_credits: 0,
      resource_breakdown: { cj_comparison: 3 },
    });
    expect(entitlements.asked.slice(asked)[0]).toMatchObject({ user_id: TEACHER, org_id: ORG, requirements: { cj_comparison: 3 } });

    const answer = await h.api('POST', `/v1/batches/${batchId}/pipelines`, {
      token,
      body: { requested_pipeline: 'cj_assessment', is_retry: false, retry_reason: null },
    });
    expect(answer.status).toBe(202);
    expect(await mine(batchId, TOPICS.spellcheckCommand)).toEqual([]);
    const [denied] = await mine(batchId, TOPICS.pipelineDenied);
    expect(denied!.envelope.data).toMatchObject({
      batch_id: batchId,
      user_id: TEACHER,
      org_id: ORG,
      requested_pipeline: 'cj_assessment',
      required_credits: 3,
    });
    const notices = (await mine(batchId, TOPICS.teacherNotification)).map((e) => e.envelope.data.notification_type);
    expect(notices).toContain('pipeline_denied_insufficient_credits');
    for (const event of await mine(batchId)) expect(wireProblems(event.envelope, 'outbound', batchId), event.topic).toEqual([]);
  });

  /** A REGULAR batch of a new one-student class of the teacher's, registered through the gateway's door. */
  async function gatewayClassBatch(courseCode: string, essayCount: number) {
    const token = await h.teacher(TEACHER);
    const klass = await createClassWithStudents(h, token, courseCode, 1);
    const registered = await h.internalApi('POST', '/v1/batches/register', {
      headers: gateway,
      body: { expected_essay_count: essayCount, course_code: courseCode, user_id: TEACHER, class_id: klass.classId },
    });
    return { token, klass, batchId: registered.body.batch_id as string };
  }

  it('amends the prompt in the states the real orchestrator allows, and refuses it elsewhere', async () => {
    const { token, batchId } = await gatewayClassBatch('ENG5', 1);
    const prompt = { student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-new' } } } };
    const amended = await h.internalApi('PATCH', `/v1/batches/${batchId}/prompt`, { headers: gateway, body: prompt });
    expect(amended.status).toBe(200);
    expect((await h.api('GET', `/v1/batches/${batchId}`, { token })).body.student_prompt_ref).toEqual(prompt.student_prompt_ref);
    expect(
      (
        await h.internalApi('PATCH', `/v1/batches/${batchId}/prompt`, {
          headers: gateway,
          body: { student_prompt_ref: { references: {} } },
        })
      ).status,
    ).toBe(400);
    await postEvent(h, provisioned(batchId, essays(1)));
    const refused = await h.internalApi('PATCH', `/v1/batches/${batchId}/prompt`, { headers: gateway, body: prompt });
    expect(refused.status).toBe(409);
    expect(refused.body.state).toBe('awaiting_student_validation.awaiting_suggestions');
    expect(
      (await h.internalApi('PATCH', `/v1/batches/${batchId}/prompt`, { headers: { 'x-user-id': 'teacher-other' }, body: prompt })).status,
    ).toBe(404);
  });

  it('shows the original file names the essay lifecycle service assigned, where the matcher sends an empty filename', async () => {
    const { token, klass, batchId } = await gatewayClassBatch('SV1', 2);
    const list = essays(2);
    const names = ['Uppsats Zäll.docx', 'Höglund Öman – essä.pdf'];
    // As the essay lifecycle service publishes it (batch_lifecycle_publisher.py), one per uploaded file.
    const slots = list.map((essay, i) =>
      real(TOPICS.essaySlotAssigned, {
        event: 'essay.slot.assigned',
        batch_id: batchId,
        essay_id: essay.essay_id,
        file_upload_id: uuid(),
        text_storage_id: essay.text_storage_id,
        original_file_name: names[i]!,
        correlation_id: uuid(),
        timestamp: new Date().toISOString(),
      }),
    );
    for (const slot of slots) expect((await postEvent(h, slot)).status).toBe(200);
    expect((await postEvent(h, slots[0]!)).body.duplicate).toBe(true);
    expect((await postEvent(h, { ...slots[0]!, data: { ...slots[0]!.data, original_file_name: 'other.docx' } })).status).toBe(422);
    expect((await postEvent(h, { ...slots[1]!, event_id: uuid(), data: { ...slots[1]!.data, batch_id: uuid() } })).status).toBe(404);

    await postEvent(h, provisioned(batchId, list, 'SV1'));
    const suggestions = real(TOPICS.authorMatchesSuggested, {
      batch_id: batchId,
      class_id: klass.classId,
      course_code: 'SV1',
      match_results: list.map((essay) => ({
        essay_id: essay.essay_id,
        text_storage_id: essay.text_storage_id,
        filename: '',
        suggestions: [],
      })),
      processing_summary: { total_essays: 2 },
    });
    expect((await postEvent(h, suggestions)).status).toBe(200);
    const listed = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token });
    const byEssay = Object.fromEntries(
      (listed.body.associations as Array<{ essay_id: string; filename: string | null }>).map((a) => [a.essay_id, a.filename]),
    );
    expect(byEssay).toEqual({ [list[0]!.essay_id]: names[0], [list[1]!.essay_id]: names[1] });
  });
});
