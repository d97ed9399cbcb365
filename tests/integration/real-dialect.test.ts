import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import { envelope, essays, essaysReady, outboxEvents, pipelineRequest } from '../support/flow.ts';
import { postEvent, provisioned, registerBatch, rowCounts, registeredClassBatch } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { assertRealInbound } from '../support/wire.ts';

describe('the real HuleEdu dialect at the edges', () => {
  const h = harnessForSuite({ label: 'dialect' });

  async function readyRegular() {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId } = await registeredClassBatch(h, teacher);
    return { teacher, klass, batchId };
  }

  it('refuses a pipeline the real system does not run with a 400 naming the allowed ones, changing nothing', async () => {
    const teacher = await h.teacher('teacher-a');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    await postEvent(h, provisioned(batchId, essays(1)));
    const before = await rowCounts(h);
    for (const pipeline of ['spellcheck', 'comprehensive', 'student_matching']) {
      const byTeacher = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline } });
      expect(byTeacher.status, pipeline).toBe(400);
      expect(byTeacher.body.errors).toEqual([
        { path: 'pipeline', message: 'requested pipeline must be one of nlp, cj_assessment, ai_feedback' },
      ]);
      const byService = await postEvent(h, {
        ...pipelineRequest(batchId, 'nlp'),
        data: { ...pipelineRequest(batchId, 'nlp').data, requested_pipeline: pipeline },
      });
      expect(byService.status, pipeline).toBe(400);
      expect(byService.body.errors[0]).toMatchObject({ path: 'data.requested_pipeline' });
    }
    expect(await rowCounts(h)).toEqual(before);
  });

  it('starts a pipeline from the real ClientBatchPipelineRequestV1 and keeps its prompt_payload with the batch', async () => {
    const teacher = await h.teacher('teacher-a');
    const batchId = await registerBatch(h, teacher, { course_code: 'SV3', expected_essay_count: 1 });
    await postEvent(h, provisioned(batchId, essays(1), 'SV3'));
    const request = pipelineRequest(batchId, 'ai_feedback');
    expect((await postEvent(h, request)).body.status).toBe('ready_for_pipeline_execution');
    const batch = await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    expect(batch.body.prompt_payload).toEqual((request.data as { prompt_payload: unknown }).prompt_payload);
    const [command] = (await outboxEvents(h, TOPICS.spellcheckCommand)).filter((e) => e.batch_id === batchId);
    expect(command!.envelope.data.language).toBe('sv');
  });

  it('accepts the fields real producers send that Phase 1 does not use', async () => {
    const { teacher, klass, batchId } = await readyRegular();
    const [essay] = essays(1);
    const prov = provisioned(batchId, [essay!]);
    const withExtras = assertRealInbound({
      ...prov,
      data_schema_uri: null,
      metadata: { trace_hint: 'x' },
      data: {
        ...prov.data,
        event: 'batch.content.provisioning.completed',
        correlation_id: crypto.randomUUID(),
        timestamp: new Date().toISOString(),
        essays_for_processing: [{ ...essay!, spellcheck_metrics: { corrections: 3 } }],
      },
    });
    expect((await postEvent(h, withExtras)).status).toBe(200);
    const student = klass.students[0]!;
    const suggestions = envelope(TOPICS.authorMatchesSuggested, {
      event_name: 'batch.author.matches.suggested',
      entity_id: batchId,
      entity_type: 'batch',
      parent_id: null,
      timestamp: new Date().toISOString(),
      batch_id: batchId,
      class_id: klass.classId,
      course_code: 'ENG5',
      match_results: [
        {
          essay_id: essay!.essay_id,
          text_storage_id: essay!.text_storage_id,
          filename: 'Astrid_essay.docx',
          extraction_metadata: { pages: 2 },
          suggestions: [
            { student_id: klass.students[1]!.student_id, student_name: 'Two', confidence_score: 0.4, match_reasons: ['style'] },
            {
              student_id: student.student_id,
              student_name: 'Student0 Lastname0',
              student_email: student.email,
              confidence_score: 0.91,
              match_reasons: ['name in header', 'email'],
              extraction_metadata: { line: 1 },
            },
            {
              student_id: klass.students[2]!.student_id,
              student_name: 'Three',
              student_email: null,
              confidence_score: 0.6,
              match_reasons: [],
            },
          ],
        },
      ],
      processing_summary: { total_essays: 1, matched: 1 },
      processing_metadata: { model: 'x' },
    });
    expect((await postEvent(h, assertRealInbound(suggestions))).status).toBe(200);
    const listed = await h.api('GET', `/v1/batches/${batchId}/student-associations`, { token: teacher });
    expect(listed.body.associations[0]).toMatchObject({
      suggested_student_id: student.student_id,
      filename: 'Astrid_essay.docx',
      suggestions: [
        {
          student_id: student.student_id,
          student_name: 'Student0 Lastname0',
          student_email: student.email,
          confidence_score: 0.91,
          match_reasons: ['name in header', 'email'],
        },
        { student_id: klass.students[2]!.student_id, student_name: 'Three', student_email: null, confidence_score: 0.6, match_reasons: [] },
        {
          student_id: klass.students[1]!.student_id,
          student_name: 'Two',
          student_email: null,
          confidence_score: 0.4,
          match_reasons: ['style'],
        },
      ],
    });
    const ready = await postEvent(h, essaysReady(batchId, [essay!], 'REGULAR'));
    expect(ready.status).toBe(200);
  });

  it("announces each teacher decision as EssayStudentAssociationUpdatedV1 with the roster's name", async () => {
    const { teacher, klass, batchId } = await readyRegular();
    const [essay] = essays(1);
    await postEvent(h, provisioned(batchId, [essay!]));
    await postEvent(
      h,
      assertRealInbound(
        envelope(TOPICS.authorMatchesSuggested, {
          batch_id: batchId,
          class_id: klass.classId,
          course_code: 'ENG5',
          match_results: [{ essay_id: essay!.essay_id, text_storage_id: essay!.text_storage_id, filename: 'e.docx', suggestions: [] }],
          processing_summary: {},
        }),
      ),
    );
    const corrected = klass.students[2]!;
    await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: [{ essay_id: essay!.essay_id, student_id: corrected.student_id, confirmed: true }] },
    });
    const [update] = (await outboxEvents(h, TOPICS.associationUpdated)).filter((e) => e.batch_id === batchId);
    expect(update!.envelope.data).toMatchObject({
      essay_id: essay!.essay_id,
      student_id: corrected.student_id,
      first_name: corrected.first_name,
      last_name: corrected.last_name,
      student_email: corrected.email,
      association_method: 'human',
      created_by_user_id: 'teacher-a',
    });
  });
});
