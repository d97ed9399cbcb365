import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../machines/events.ts';
import { essaysReady, postEvent, rowCounts, pipelineRequest } from '../../support/flow.ts';
import { expectProblem, errorsSuite } from './support.ts';

/** Refusals: 409 with the state and what it accepts; only the audit log records them. */

const { h, fx, regular, history, batchView } = errorsSuite('http_errors_refusals');

describe('refused events', () => {
  /** Everything but the history is as before; the history gained exactly the refusal. */
  function expectOnlyHistoryGrew(before: Record<string, number>, after: Record<string, number>) {
    expect(after).toEqual({ ...before, history: before.history! + 1 });
  }

  it('ESSAYS_READY for a REGULAR batch awaiting content answers 409 and only the history records it', async () => {
    const { batchId, list } = await regular(fx.teacherA, fx.klassA, 'registered');
    const viewBefore = await batchView(fx.teacherA, batchId);
    const event = essaysReady(batchId, list, 'REGULAR');
    const before = await rowCounts(h);

    const res = await postEvent(h, event);
    expectProblem(res, 409);
    expect(res.body.state).toBe('awaiting_content_validation');
    expect(res.body.event).toBe(TOPICS.essaysReady);
    expect(res.body.allowed_events).toContain(TOPICS.contentProvisioned);
    expect(res.body.allowed_events).not.toContain(TOPICS.essaysReady);

    expectOnlyHistoryGrew(before, await rowCounts(h));
    const refused = (await history(fx.teacherA, batchId)).filter((r) => r.outcome === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      event_id: event.event_id,
      event_type: TOPICS.essaysReady,
      from_state: 'awaiting_content_validation',
    });
    expect(refused[0]!.reason).toEqual(expect.any(String));
    expect(refused[0]!.reason).not.toBe('');
    expect(await batchView(fx.teacherA, batchId)).toEqual(viewBefore);
  });

  it('a teacher pipeline request before ready_for_pipeline_execution answers 409 and only the history records it', async () => {
    const { batchId } = await regular(fx.teacherA, fx.klassA, 'registered');
    const viewBefore = await batchView(fx.teacherA, batchId);
    const before = await rowCounts(h);

    const res = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: fx.teacherA, body: { pipeline: 'nlp' } });
    expectProblem(res, 409);
    expect(res.body.state).toBe('awaiting_content_validation');
    expect(res.body.event).toEqual(expect.any(String));
    expect(res.body.allowed_events).toContain(TOPICS.contentProvisioned);
    expect(res.body.allowed_events).not.toContain(res.body.event);

    expectOnlyHistoryGrew(before, await rowCounts(h));
    const refused = (await history(fx.teacherA, batchId)).filter((r) => r.outcome === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toEqual(expect.any(String));
    expect(await batchView(fx.teacherA, batchId)).toEqual(viewBefore);
  });

  it('a service pipeline request while associations are pending answers 409 and leaves the deadline alone', async () => {
    const { batchId } = await regular(fx.teacherA, fx.klassA, 'suggested');
    const viewBefore = await batchView(fx.teacherA, batchId);
    expect(viewBefore.validation.due_at).toEqual(expect.any(String));
    const event = pipelineRequest(batchId, 'nlp');
    const before = await rowCounts(h);

    const res = await postEvent(h, event);
    expectProblem(res, 409);
    expect(res.body.state).toMatch(/^awaiting_student_validation/);
    expect(res.body.event).toBe(TOPICS.pipelineRequest);
    expect(res.body.allowed_events).toEqual(expect.any(Array));
    expect(res.body.allowed_events).not.toContain(TOPICS.pipelineRequest);

    expectOnlyHistoryGrew(before, await rowCounts(h));
    const refused = (await history(fx.teacherA, batchId)).filter((r) => r.outcome === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ event_id: event.event_id, event_type: TOPICS.pipelineRequest });
    expect(await batchView(fx.teacherA, batchId)).toEqual(viewBefore);
  });
});
