import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../app/service.ts';
import { STREAM_OVERLAP_ROWS } from '../../app/review-reads.ts';
import { type BatchStreams, createBatchStreams } from '../../app/stream.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { createHttpApp } from '../../server/app.ts';
import { postEvent } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { reviewBatch, sseReader } from '../support/review.ts';

type App = ReturnType<typeof createHttpApp>;

const states = (messages: Array<{ event: string; data: any }>) =>
  messages.filter((m) => m.event === 'batch').map((m) => m.data.batch.state as string);
const seqs = (messages: Array<{ event: string; id: string | null }>) =>
  messages.filter((m) => m.event === 'history').map((m) => Number(m.id));

function stream(app: App, batchId: string, token: string, headers: Record<string, string> = {}) {
  return app.request(`/v1/batches/${batchId}/stream`, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

describe('the batch event stream on PostgreSQL, served by two API processes', () => {
  const h = harnessForSuite({ label: 'stream' });
  let second: Database;
  let appA: App;
  let appB: App;
  const hubs: BatchStreams[] = [];

  beforeAll(async () => {
    // A second pool on the same database with its own service and app: another API process.
    second = await openDatabase({ url: h.url, dataDir: 'memory://' });
    const auth = { serviceToken: h.serviceToken, jwtSecret: h.jwtSecret };
    const hubA = createBatchStreams({ db: h.database.db, pollMs: 50 });
    const hubB = createBatchStreams({ db: second.db, pollMs: 50 });
    hubs.push(hubA, hubB);
    appA = createHttpApp(h.service, { auth, streams: hubA });
    appB = createHttpApp(createService({ db: second.db, validationTimeoutMs: 60_000 }), { auth, streams: hubB });
  });

  afterAll(async () => {
    for (const hub of hubs) hub.close();
    await second?.close();
  });

  it('carries events applied by one process to a reader of the other, and resumes after Last-Event-ID losing nothing', async () => {
    const teacher = await h.teacher('teacher-a');
    const { batchId, suggestion, essays } = await reviewBatch(h, teacher, { suggest: false });
    const response = await stream(appB, batchId, teacher);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const live = sseReader(response);
    await live.until((m) => states(m).includes('awaiting_student_validation.awaiting_suggestions'));

    expect((await postEvent(h, suggestion)).status).toBe(200);
    const seen = await live.until((m) => states(m).includes('awaiting_student_validation.awaiting_teacher'));
    const last = seen.filter((m) => m.event === 'batch').at(-1)!;
    expect(last.data.associations).toHaveLength(3);
    expect(last.data.associations.every((a: any) => a.validation_status === 'pending_validation')).toBe(true);
    const firstSeqs = seqs(seen);
    expect(firstSeqs).toEqual([...firstSeqs].sort((a, b) => a - b));
    expect(new Set(firstSeqs).size).toBe(firstSeqs.length);
    await live.cancel();

    // While nobody listens, the teacher decides everything through process A.
    const decided = await appA.request(`/v1/batches/${batchId}/student-associations/confirm`, {
      method: 'POST',
      headers: { authorization: `Bearer ${teacher}`, 'content-type': 'application/json' },
      body: JSON.stringify({ associations: essays.map((e) => ({ essay_id: e.essay_id, confirmed: true })) }),
    });
    expect(decided.status).toBe(200);

    const resumed = sseReader(await stream(appB, batchId, teacher, { 'last-event-id': last.id! }));
    const after = await resumed.until((m) => states(m).includes('student_validation_completed'));
    await resumed.cancel();
    const history = (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as Array<{ seq: number }>;
    const all = history.map((r) => r.seq);
    // Every row is delivered at least once over the two connections, and the resumed one sends
    // everything after the cursor (earlier rows only as the documented overlap).
    expect([...new Set([...firstSeqs, ...seqs(after)])].sort((a, b) => a - b)).toEqual(all);
    expect(seqs(after).filter((s) => s > Number(last.id))).toEqual(all.filter((s) => s > Number(last.id)));
  });

  it('resumes after the cursor: older rows come again only within the newest few of the batch', async () => {
    const teacher = await h.teacher('teacher-a');
    const { batchId } = await reviewBatch(h, teacher, { suggest: false });
    // Refused pipeline requests: history rows that change no state, enough to pass the overlap.
    for (let i = 0; i < STREAM_OVERLAP_ROWS + 4; i++) {
      const refused = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
      expect(refused.status).toBe(409);
    }
    const all = ((await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as Array<{ seq: number }>).map(
      (r) => r.seq,
    );
    const cursor = all[2]!;
    const resumed = sseReader(await stream(appA, batchId, teacher, { 'last-event-id': String(cursor) }));
    const messages = await resumed.until((m) => m.some((x) => x.event === 'batch'));
    await resumed.cancel();
    expect(seqs(messages)).toEqual(all.filter((s) => s > cursor));
    expect(messages.filter((m) => m.event === 'batch').at(-1)!.id).toBe(String(all.at(-1)));
  });

  it('answers 404 for another teacher, 401 without a token, 403 for the service token, 400 for a bad cursor', async () => {
    const teacher = await h.teacher('teacher-a');
    const { batchId } = await reviewBatch(h, teacher, { suggest: false });
    const cases: Array<[number, Response | Promise<Response>]> = [
      [404, stream(appA, batchId, await h.teacher('teacher-b'))],
      [401, appA.request(`/v1/batches/${batchId}/stream`)],
      [403, stream(appA, batchId, h.serviceToken)],
      [400, stream(appA, batchId, teacher, { 'last-event-id': 'yesterday' })],
      [400, stream(appA, 'not-a-uuid', teacher)],
    ];
    for (const [status, pending] of cases) {
      const response = await pending;
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      await response.body?.cancel();
    }
  });

  it('ends open streams when the hub closes (graceful shutdown) and refuses new ones with 503', async () => {
    const teacher = await h.teacher('teacher-a');
    const { batchId } = await reviewBatch(h, teacher, { suggest: false });
    const hub = createBatchStreams({ db: h.database.db, pollMs: 50 });
    const app = createHttpApp(h.service, { auth: { serviceToken: h.serviceToken, jwtSecret: h.jwtSecret }, streams: hub });
    const open = sseReader(await stream(app, batchId, teacher));
    await open.until((m) => states(m).length > 0);
    hub.close();
    await open.end();
    const refused = await stream(app, batchId, teacher);
    expect(refused.status).toBe(503);
    await refused.body?.cancel();
  });
});
