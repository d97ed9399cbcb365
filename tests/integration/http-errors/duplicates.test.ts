import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../../machines/events.ts';
import { essays, outboxEvents, postEvent, provisioned, rowCounts, suggested } from '../../support/flow.ts';
import { errorsSuite } from './support.ts';

/** Duplicates: the same event id is applied once and answered the same way forever. */

const { h, fx, regular, history, batchView } = errorsSuite('http_errors_duplicates');

describe('duplicates', () => {
  it('the same envelope twice answers 200 both times, the second duplicate:true with the same body, applied once', async () => {
    const { batchId } = await regular(fx.teacherA, fx.klassA, 'registered');
    const list = essays(2);
    const event = provisioned(batchId, list);
    const before = await rowCounts(h);

    const first = await postEvent(h, event);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      event_id: event.event_id,
      batch_id: batchId,
      status: 'awaiting_student_validation',
      duplicate: false,
    });
    const afterFirst = await rowCounts(h);
    expect(afterFirst.snapshot_versions).toBe(before.snapshot_versions! + 1);

    const second = await postEvent(h, event);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ ...first.body, duplicate: true });

    const afterSecond = await rowCounts(h);
    expect({ ...afterSecond, history: 0 }).toEqual({ ...afterFirst, history: 0 });
    const rows = (await history(fx.teacherA, batchId)).filter((r) => r.event_id === event.event_id);
    expect(rows.filter((r) => r.outcome === 'applied')).toHaveLength(1);
    const commands = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
    expect(commands).toHaveLength(1);
  });

  it('a duplicate event id arriving after the batch moved on still answers duplicate:true, not 409', async () => {
    const { batchId } = await regular(fx.teacherA, fx.klassA, 'registered');
    const list = essays(2);
    const event = provisioned(batchId, list);
    const first = await postEvent(h, event);
    expect(first.status).toBe(200);
    const moved = await postEvent(
      h,
      suggested(
        batchId,
        fx.klassA.classId,
        list.map((essay, i) => ({ essay, student_id: fx.klassA.students[i]!.student_id })),
      ),
    );
    expect(moved.status).toBe(200);
    expect(moved.body.state).not.toBe(first.body.state);

    const before = await rowCounts(h);
    const again = await postEvent(h, event);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, duplicate: true });
    const after = await rowCounts(h);
    expect({ ...after, history: 0 }).toEqual({ ...before, history: 0 });
    expect((await history(fx.teacherA, batchId)).filter((r) => r.event_id === event.event_id && r.outcome === 'applied')).toHaveLength(1);
    expect((await batchView(fx.teacherA, batchId)).state).toBe(moved.body.state);
  });

  it('the confirm route honours Idempotency-Key: same key twice, same answer, applied once', async () => {
    const { batchId, list } = await regular(fx.teacherA, fx.klassA, 'suggested');
    const url = `/v1/batches/${batchId}/student-associations/confirm`;
    const body = { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] };
    const headers = { 'idempotency-key': 'confirm-first-essay' };
    const appliedRows = async () => (await history(fx.teacherA, batchId)).filter((r) => r.outcome === 'applied').length;
    const appliedBefore = await appliedRows();
    const before = await rowCounts(h);

    const first = await h.api('POST', url, { token: fx.teacherA, body, headers });
    expect(first.status).toBe(200);
    expect(first.body.duplicate).toBe(false);
    expect(first.body.results).toEqual([expect.objectContaining({ essay_id: list[0]!.essay_id, outcome: 'applied' })]);
    const afterFirst = await rowCounts(h);
    expect(afterFirst.snapshot_versions).toBe(before.snapshot_versions! + 1);
    expect(await appliedRows()).toBe(appliedBefore + 1);

    const second = await h.api('POST', url, { token: fx.teacherA, body, headers });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ ...first.body, duplicate: true });
    const afterSecond = await rowCounts(h);
    expect({ ...afterSecond, history: 0 }).toEqual({ ...afterFirst, history: 0 });
    expect(await appliedRows()).toBe(appliedBefore + 1);

    const view = await batchView(fx.teacherA, batchId);
    expect(view.validation).toMatchObject({ pending: 1, confirmed: 1 });
  });

  it('an Idempotency-Key replayed after validation completed still answers duplicate:true with the first answer', async () => {
    const { batchId, list } = await regular(fx.teacherA, fx.klassA, 'suggested');
    const url = `/v1/batches/${batchId}/student-associations/confirm`;
    const body = { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] };
    const headers = { 'idempotency-key': 'confirm-then-finish' };
    const first = await h.api('POST', url, { token: fx.teacherA, body, headers });
    expect(first.status).toBe(200);
    const finish = await h.api('POST', url, {
      token: fx.teacherA,
      body: { associations: [{ essay_id: list[1]!.essay_id, confirmed: false }] },
    });
    expect(finish.status).toBe(200);
    expect(finish.body.status).toBe('student_validation_completed');

    const before = await rowCounts(h);
    const replay = await h.api('POST', url, { token: fx.teacherA, body, headers });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ ...first.body, duplicate: true });
    const after = await rowCounts(h);
    expect({ ...after, history: 0 }).toEqual({ ...before, history: 0 });
  });
});
