import { expect } from 'vitest';
import { createBatchStreams } from '../../app/stream.ts';
import { TOPICS } from '../../machines/events.ts';
import { createHttpApp } from '../../server/app.ts';
import { createClassWithStudents, essays, postEvent, provisionedClassBatch, real } from './flow.ts';
import type { Harness } from './harness.ts';

export const RUNNER_UP_SCORE = 0.2;

/**
 * A REGULAR batch driven by the services' events, as the README walk-through does: a class of
 * three, three essays provisioned, and the matcher's suggestions with file names (one high, one
 * medium and one low confidence, each with a runner-up). `suggest: false` stops before them.
 */
export async function reviewBatch(h: Harness, teacher: string, options: { suggest?: boolean; files?: string[]; scores?: number[] } = {}) {
  const files = options.files ?? ['astrid.docx', 'bertil.docx', 'cecilia.docx'];
  const scores = options.scores ?? [0.95, 0.8, 0.4];
  const { klass, batchId, list, provisioning } = await provisionedClassBatch(h, teacher, { count: files.length });
  expect(provisioning.status).toBe(200);
  const suggestion = suggestionsEvent(batchId, klass, list, files, scores);
  if (options.suggest !== false) expect((await postEvent(h, suggestion)).status).toBe(200);
  return { batchId, klass, essays: list, files, suggestion };
}

/** Suggestions for students 0, 1, 2, 0, … of the class, each with the next student as runner-up at RUNNER_UP_SCORE. */
export function suggestionsEvent(
  batchId: string,
  klass: Awaited<ReturnType<typeof createClassWithStudents>>,
  list: ReturnType<typeof essays>,
  files: string[],
  scores: number[],
) {
  const name = (i: number) => `${klass.students[i]!.first_name} ${klass.students[i]!.last_name}`;
  // The real matcher's format, checked against its schema before anything is posted.
  return real(TOPICS.authorMatchesSuggested, {
    batch_id: batchId,
    class_id: klass.classId,
    course_code: klass.courseCode,
    match_results: list.map((essay, i) => ({
      essay_id: essay.essay_id,
      text_storage_id: essay.text_storage_id,
      filename: files[i],
      suggestions: [
        {
          student_id: klass.students[i % 3]!.student_id,
          student_name: name(i % 3),
          confidence_score: scores[i],
          match_reasons: ['name in header'],
        },
        {
          student_id: klass.students[(i + 1) % 3]!.student_id,
          student_name: name((i + 1) % 3),
          confidence_score: RUNNER_UP_SCORE,
          match_reasons: ['similar style'],
        },
      ],
    })),
    processing_summary: { total_essays: list.length },
  });
}

/** Reads an SSE response as it arrives; `until` waits for a condition on everything read so far. */
export function sseReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let ended = false;
  return {
    get ended() {
      return ended;
    },
    messages: () => parseSse(text),
    async until(check: (messages: SseMessage[]) => boolean, timeoutMs = 10_000): Promise<SseMessage[]> {
      const deadline = Date.now() + timeoutMs;
      while (!check(parseSse(text))) {
        if (ended) throw new Error(`stream ended before the condition held; got:\n${text}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`stream condition not met within ${timeoutMs} ms; got:\n${text}`);
        const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
        if (next === null) continue;
        if (next.done) ended = true;
        else text += next.value;
      }
      return parseSse(text);
    },
    /** Resolves when the server ends the stream. */
    async end(timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('the stream did not end');
        const next = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), left))]);
        if (next?.done) ended = true;
        else if (next) text += next.value;
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

export interface SseMessage {
  event: string;
  id: string | null;
  data: any;
}

export function parseSse(text: string): SseMessage[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const message: SseMessage = { event: 'message', id: null, data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'event') message.event = value;
        if (field === 'id') message.id = value;
        if (field === 'data') data.push(value);
      }
      const joined = data.join('\n');
      message.data = joined.startsWith('{') ? (JSON.parse(joined) as unknown) : joined;
      return message;
    });
}

/** A batch's event stream follows it from awaiting suggestions to a decision (run on PGlite too). */
export async function streamFollowsDecisions(h: Harness) {
  const hub = createBatchStreams({ db: h.database.db, pollMs: 50 });
  try {
    const app = createHttpApp(h.service, { auth: { serviceToken: h.serviceToken, jwtSecret: h.jwtSecret }, streams: hub });
    const teacher = await h.teacher('teacher-stream');
    const { batchId, suggestion, essays: list } = await reviewBatch(h, teacher, { suggest: false });
    const response = await app.request(`/v1/batches/${batchId}/stream`, { headers: { authorization: `Bearer ${teacher}` } });
    expect(response.status).toBe(200);
    const live = sseReader(response);
    const states = (m: SseMessage[]) => m.filter((x) => x.event === 'batch').map((x) => x.data.batch.state as string);
    await live.until((m) => states(m).includes('awaiting_student_validation.awaiting_suggestions'));
    expect((await postEvent(h, suggestion)).status).toBe(200);
    await live.until((m) => states(m).includes('awaiting_student_validation.awaiting_teacher'));
    const decided = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: list.map((e) => ({ essay_id: e.essay_id, confirmed: false })) },
    });
    expect(decided.status).toBe(200);
    const messages = await live.until((m) => states(m).includes('student_validation_completed'));
    const final = messages.filter((m) => m.event === 'batch').at(-1)!;
    expect(final.data.associations.map((a: any) => a.validation_status)).toEqual(['rejected', 'rejected', 'rejected']);
    await live.cancel();
  } finally {
    hub.close();
  }
}
