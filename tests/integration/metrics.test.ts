import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { rows } from '../../db/client.ts';
import { outboxBacklog } from '../../db/outbox.ts';
import { createSweep } from '../../jobs/sweep.ts';
import { DEADLINE_QUEUE } from '../../jobs/timers.ts';
import { TOPICS } from '../../machines/events.ts';
import { createClassWithStudents, essays, postEvent, provisioned, registerBatch, suggested } from '../support/flow.ts';
import type { Harness } from '../support/harness.ts';
import { type Observed, sampleSum, sampleValue, samples, scrape, startObservedHarness } from '../support/observed.ts';
import { eventually } from '../support/poll.ts';
import { regularFlow } from '../support/scenarios.ts';
import { suiteTimers } from '../support/suite-timers.ts';

const APPLIED = 'huleedu_transitions_applied_total';
const REFUSED = 'huleedu_transitions_refused_total';
const HTTP_COUNT = 'huleedu_http_request_duration_seconds_count';

describe('GET /metrics', () => {
  let o: Observed;
  let h: Harness;
  suiteTimers('metrics', async (timers) => {
    o = await startObservedHarness({
      label: 'metrics',
      onDeadlineChange: timers.listener((e) => console.error(e)),
      sources: (harness) => ({
        outboxBacklog: () => outboxBacklog(harness().database.db),
        queueDepth: async () =>
          Object.entries(await timers.queue.getJobCounts('waiting', 'delayed', 'active', 'failed')).map(([state, count]) => ({
            queue: DEADLINE_QUEUE,
            state,
            count,
          })),
      }),
    });
    h = o.h;
    return h;
  });

  it('answers without a token in the Prometheus text format', async () => {
    const res = await h.api('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.body).toContain('# TYPE huleedu_transitions_applied_total counter');
  });

  it('counts applied and refused transitions by machine, event and state after a flow', async () => {
    const before = await scrape(h);
    await regularFlow(h);
    const after = await scrape(h);
    const provisionedLabels = {
      machine: 'batch',
      event: TOPICS.contentProvisioned,
      from_state: 'awaiting_content_validation',
      to_state: 'awaiting_student_validation.awaiting_suggestions',
    };
    expect(sampleValue(before, APPLIED, provisionedLabels)).toBe(0);
    expect(sampleValue(after, APPLIED, provisionedLabels)).toBe(1);
    expect(sampleValue(after, APPLIED, { event: 'TEACHER_DECISIONS', to_state: 'ready_for_pipeline_execution' })).toBe(1);
    expect(sampleValue(after, APPLIED, { event: TOPICS.pipelineRequest, to_state: 'ready_for_pipeline_execution' })).toBe(1);
    // The flow asks for a pipeline twice too early: once before the essays, once before validation ended.
    expect(sampleValue(after, REFUSED, { machine: 'batch', event: TOPICS.pipelineRequest, state: 'awaiting_content_validation' })).toBe(1);
    expect(sampleSum(after, REFUSED, { event: TOPICS.pipelineRequest })).toBe(2);
  });

  it('counts a redelivered event as a duplicate, not as a second transition', async () => {
    const teacher = await h.teacher('teacher-dup');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    const event = provisioned(batchId, essays(1));
    expect((await postEvent(h, event)).status).toBe(200);
    const before = await scrape(h);
    const again = await postEvent(h, event);
    expect(again.body.duplicate).toBe(true);
    const after = await scrape(h);
    expect(sampleValue(after, 'huleedu_duplicate_events_total', { actor: 'service' })).toBe(
      sampleValue(before, 'huleedu_duplicate_events_total', { actor: 'service' }) + 1,
    );
    expect(sampleSum(after, APPLIED)).toBe(sampleSum(before, APPLIED));
  });

  it('observes every request in the histogram by route pattern and status, never by raw path', async () => {
    const teacher = await h.teacher('teacher-http');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    const before = await scrape(h);
    await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    await h.api('GET', `/v1/batches/${batchId}`, { token: teacher });
    await h.api('GET', `/v1/batches/${batchId}`, { token: null });
    await h.api('GET', '/no/such/route');
    const after = await scrape(h);
    const ok = { method: 'GET', route: '/v1/batches/:batch_id', status: '200' };
    expect(sampleValue(after, HTTP_COUNT, ok)).toBe(sampleValue(before, HTTP_COUNT, ok) + 2);
    expect(sampleValue(after, HTTP_COUNT, { method: 'GET', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(after, HTTP_COUNT, { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const routes = samples(after).flatMap((s) => (s.name === HTTP_COUNT ? [s.labels.route!] : []));
    expect(routes.some((r) => r.includes(batchId))).toBe(false);
  });

  it('counts deadlines scheduled, fired by the sweep rather than BullMQ, and late, and shows the queue depth', async () => {
    const teacher = await h.teacher('teacher-deadline');
    const klass = await createClassWithStudents(h, teacher, 'ENG6', 1);
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG6', class_id: klass.classId, expected_essay_count: 1 });
    const list = essays(1);
    const before = await scrape(h);
    expect((await postEvent(h, provisioned(batchId, list, 'ENG6'))).status).toBe(200);
    expect(
      (await postEvent(h, suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id }], 'ENG6')))
        .status,
    ).toBe(200);

    const scheduled = await scrape(h);
    expect(sampleValue(scheduled, 'huleedu_deadlines_scheduled_total')).toBe(sampleValue(before, 'huleedu_deadlines_scheduled_total') + 1);
    await eventually(async () => sampleValue(await scrape(h), 'huleedu_queue_jobs', { queue: DEADLINE_QUEUE, state: 'delayed' }) >= 1);

    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 minute' WHERE batch_id = ${batchId}`);
    const sweep = createSweep(h.service, { intervalMs: 60_000 });
    expect(await sweep.runOnce()).toBe(1);
    // The deadline was met, so BullMQ's timer for a newer version arrives late and changes nothing.
    expect((await h.service.apply(validationTimeout(batchId, 2, 'bullmq'))).kind).toBe('refused');

    const after = await scrape(h);
    const fired = (labels: Record<string, string>) =>
      sampleValue(after, 'huleedu_deadlines_fired_total', labels) - sampleValue(before, 'huleedu_deadlines_fired_total', labels);
    expect(fired({ fired_by: 'sweep', outcome: 'applied' })).toBe(1);
    expect(fired({ fired_by: 'bullmq', outcome: 'applied' })).toBe(0);
    expect(fired({ fired_by: 'bullmq', outcome: 'late' })).toBe(1);
    expect(sampleValue(after, 'huleedu_deadlines_late_total', { fired_by: 'bullmq' })).toBe(1);
  });

  it('reports the outbox messages not yet relayed as the backlog', async () => {
    const [row] = await rows<{ n: number }>(h.database.db, sql`SELECT count(*)::int AS n FROM outbox_messages WHERE published_at IS NULL`);
    expect(row!.n).toBeGreaterThan(0);
    expect(sampleValue(await scrape(h), 'huleedu_outbox_backlog')).toBe(row!.n);
    // Publishing the row with the most messages takes all of them off the backlog.
    const [widest] = await rows<{ seq: number; n: number }>(
      h.database.db,
      sql`SELECT seq, jsonb_array_length(messages) AS n FROM outbox WHERE published_at IS NULL ORDER BY jsonb_array_length(messages) DESC, seq LIMIT 1`,
    );
    await h.database.db.execute(sql`UPDATE outbox SET published_at = now() WHERE seq = ${widest!.seq}`);
    expect(sampleValue(await scrape(h), 'huleedu_outbox_backlog')).toBe(row!.n - widest!.n);
  });
});
