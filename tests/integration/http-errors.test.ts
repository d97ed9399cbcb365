import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../machines/events.ts';
import {
  type ClassFixture,
  createClassWithStudents,
  envelope,
  essays,
  essaysReady,
  outboxEvents,
  postEvent,
  provisioned,
  registerBatch,
  rowCounts,
  pipelineRequest,
  suggested,
  uuid,
} from '../support/flow.ts';
import { type ApiResponse, type Harness, startHarness } from '../support/harness.ts';

/**
 * Client mistakes, foreign ids, repeats and refusals through the real HTTP app and a real
 * PostgreSQL database: each answers its own 4xx problem+json (never a 500) and changes nothing.
 */

const PROBLEM_JSON = /^application\/problem\+json/;
const TWO_MIB = 2 * 1024 * 1024;

/** The RFC 9457 shape of every error (contract section 3); 400s also name the fields at fault. */
function expectProblem(res: ApiResponse, status: number) {
  expect(res.status, JSON.stringify(res.body)?.slice(0, 500)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(PROBLEM_JSON);
  expect(res.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  expect(res.body.type).not.toBe('');
  expect(res.body.title).not.toBe('');
  expect(res.body.detail).not.toBe('');
  if (status === 400) {
    expect(Array.isArray(res.body.errors)).toBe(true);
    expect(res.body.errors.length).toBeGreaterThan(0);
    for (const e of res.body.errors) expect(e).toMatchObject({ path: expect.any(String), message: expect.any(String) });
  }
}

const errorPaths = (res: ApiResponse): string[] => (res.body?.errors ?? []).map((e: { path: string }) => e.path);

/** An unknown field is only useful to a client if the error names it, in the path or the message. */
function expectNamesField(res: ApiResponse, field: string) {
  const named = (res.body.errors as Array<{ path: string; message: string }>).some(
    (e) => e.path.split('.').includes(field) || e.message.includes(field),
  );
  expect(named, `errors ${JSON.stringify(res.body.errors)} should name ${field}`).toBe(true);
}

describe('HTTP errors, ownership, duplicates and refusals', () => {
  let h: Harness;
  let teacherA: string;
  let teacherB: string;
  /** A REGULAR class of teacher A, with 3 students. */
  let klassA: ClassFixture;
  /** Teacher A's REGULAR batch, still awaiting_content_validation. */
  let registeredBatch: string;
  /** Teacher A's REGULAR batch, provisioned: waiting for match suggestions. */
  let suggestingBatch: { batchId: string; list: ReturnType<typeof essays> };
  /** Teacher A's REGULAR batch with two pending associations. */
  let pendingBatch: { batchId: string; list: ReturnType<typeof essays> };

  const asA = () => ({ token: teacherA });

  async function regular(token: string, klass: ClassFixture, stage: 'registered' | 'provisioned' | 'suggested', count = 2) {
    const batchId = await registerBatch(h, token, { course_code: klass.courseCode, class_id: klass.classId, expected_essay_count: count });
    const list = essays(count);
    if (stage === 'registered') return { batchId, list };
    expect((await postEvent(h, provisioned(batchId, list, klass.courseCode))).status).toBe(200);
    if (stage === 'provisioned') return { batchId, list };
    const matches = list.map((essay, i) => ({ essay, student_id: klass.students[i % klass.students.length]!.student_id, score: 0.9 }));
    expect((await postEvent(h, suggested(batchId, klass.classId, matches, klass.courseCode))).status).toBe(200);
    return { batchId, list };
  }

  async function history(token: string, batchId: string) {
    const res = await h.api('GET', `/v1/batches/${batchId}/history`, { token });
    expect(res.status).toBe(200);
    return res.body.history as Array<{
      event_id: string | null;
      event_type: string;
      outcome: string;
      reason: string | null;
      from_state: string | null;
      to_state: string | null;
    }>;
  }

  async function batchView(token: string, batchId: string) {
    const res = await h.api('GET', `/v1/batches/${batchId}`, { token });
    expect(res.status).toBe(200);
    return res.body;
  }

  beforeAll(async () => {
    h = await startHarness({ label: 'http_errors' });
    teacherA = await h.teacher('teacher-a');
    teacherB = await h.teacher('teacher-b');
    klassA = await createClassWithStudents(h, teacherA, 'ENG5', 3);
    registeredBatch = (await regular(teacherA, klassA, 'registered')).batchId;
    suggestingBatch = await regular(teacherA, klassA, 'provisioned');
    pendingBatch = await regular(teacherA, klassA, 'suggested');
  });
  afterAll(() => h?.close());

  // ---------------------------------------------------------------------------------------------
  // 1. Bad input: the right 4xx, problem+json, nothing changed.

  interface BadRequest {
    name: string;
    status: 400 | 401 | 403 | 413 | 415;
    /** For 400s: a path each listed field error must have (exact, or a pattern). */
    paths?: Array<string | RegExp>;
    /** For unknown-field 400s: the field the errors must name. */
    names?: string;
    send(): Promise<ApiResponse>;
  }

  const JSON_HEADERS = { 'content-type': 'application/json' };
  /** A valid provisioning event for the batch still awaiting content: it would apply if let through. */
  const validProvision = () => provisioned(registeredBatch, essays(2));
  /** A valid suggestion event for the provisioned batch: it would apply if let through. */
  const validSuggestions = () =>
    suggested(
      suggestingBatch.batchId,
      klassA.classId,
      suggestingBatch.list.map((essay, i) => ({ essay, student_id: klassA.students[i]!.student_id, score: 0.9 })),
    );
  const withData = (event: ReturnType<typeof envelope>, patch: Record<string, unknown>) => ({
    ...event,
    data: { ...event.data, ...patch },
  });
  const validRegister = () => ({ course_code: 'ENG5', class_id: klassA.classId, expected_essay_count: 2 });
  const validConfirm = () => ({ associations: [{ essay_id: pendingBatch.list[0]!.essay_id, confirmed: true }] });
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const expiredJwt = () => sign({ sub: 'teacher-a', iat: nowSeconds() - 3600, exp: nowSeconds() - 60 }, h.jwtSecret, 'HS256');
  const foreignJwt = () => sign({ sub: 'teacher-a', exp: nowSeconds() + 3600 }, `${h.jwtSecret}-not-ours`, 'HS256');
  const emptySubJwt = () => sign({ sub: '', exp: nowSeconds() + 3600 }, h.jwtSecret, 'HS256');
  const noSubJwt = () => sign({ exp: nowSeconds() + 3600 }, h.jwtSecret, 'HS256');

  const badRequests: BadRequest[] = [
    // ---- POST /v1/events (service token)
    {
      name: 'events: malformed JSON',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '{"event_id": "', headers: JSON_HEADERS }),
    },
    {
      name: 'events: empty JSON body',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '', headers: JSON_HEADERS }),
    },
    {
      name: 'events: JSON null',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: 'null', headers: JSON_HEADERS }),
    },
    {
      name: 'events: a JSON string instead of an object',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '"huleedu.batch.content.provisioning.completed.v1"', headers: JSON_HEADERS }),
    },
    {
      name: 'events: deeply nested arrays',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, headers: JSON_HEADERS }),
    },
    {
      name: 'events: a count as a string (wrong type)',
      status: 400,
      paths: ['data.provisioned_count'],
      send: () => postEvent(h, withData(validProvision(), { provisioned_count: '2' })),
    },
    {
      name: 'events: data as a string (wrong type)',
      status: 400,
      paths: ['data'],
      send: () => postEvent(h, { ...validProvision(), data: 'batch' }),
    },
    {
      name: 'events: event_id as a number (wrong type)',
      status: 400,
      paths: ['event_id'],
      send: () => postEvent(h, { ...validProvision(), event_id: 42 }),
    },
    {
      name: 'events: event_timestamp not a date',
      status: 400,
      paths: ['event_timestamp'],
      send: () => postEvent(h, { ...validProvision(), event_timestamp: 'yesterday' }),
    },
    {
      name: 'events: unknown event_type',
      status: 400,
      paths: ['event_type'],
      send: () => postEvent(h, { ...validProvision(), event_type: 'huleedu.batch.something.else.v1' }),
    },
    {
      name: 'events: event_type as a number',
      status: 400,
      paths: ['event_type'],
      send: () => postEvent(h, { ...validProvision(), event_type: 7 }),
    },
    {
      name: 'events: a confidence_score of 1.5',
      status: 400,
      paths: ['data.match_results.0.suggestions.0.confidence_score'],
      send: () => {
        const event = validSuggestions();
        (event.data as any).match_results[0].suggestions[0].confidence_score = 1.5;
        return postEvent(h, event);
      },
    },
    {
      name: 'events: a negative confidence_score',
      status: 400,
      paths: ['data.match_results.1.suggestions.0.confidence_score'],
      send: () => {
        const event = validSuggestions();
        (event.data as any).match_results[1].suggestions[0].confidence_score = -0.1;
        return postEvent(h, event);
      },
    },
    {
      name: 'events: a non-UUID batch_id',
      status: 400,
      paths: ['data.batch_id'],
      send: () => postEvent(h, withData(validProvision(), { batch_id: 'batch-1' })),
    },
    {
      name: 'events: an unknown course_code',
      status: 400,
      paths: ['data.course_code'],
      send: () => postEvent(h, withData(validProvision(), { course_code: 'ENG9' })),
    },
    {
      name: 'events: a 2 MiB body',
      status: 413,
      send: () => postEvent(h, { ...validProvision(), metadata: { padding: 'x'.repeat(TWO_MIB) } }),
    },
    {
      name: 'events: text/plain',
      status: 415,
      send: () => h.api('POST', '/v1/events', { raw: JSON.stringify(validProvision()), headers: { 'content-type': 'text/plain' } }),
    },
    {
      name: 'events: a form body',
      status: 415,
      send: () => h.api('POST', '/v1/events', { raw: 'event_id=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    },
    {
      name: 'events: no token',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: null, body: validProvision() }),
    },
    {
      name: 'events: a token that is neither the service token nor a JWT',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: 'svc_guessed', body: validProvision() }),
    },
    {
      name: 'events: Basic authorization',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: null, body: validProvision(), headers: { authorization: 'Basic c3ZjOnN2Yw==' } }),
    },
    {
      name: 'events: a teacher token (service-only route)',
      status: 403,
      send: () => h.api('POST', '/v1/events', { ...asA(), body: validProvision() }),
    },
    {
      name: 'outbox: a teacher token (service-only route)',
      status: 403,
      send: () => h.api('GET', '/v1/outbox', asA()),
    },
    {
      name: 'outbox: a negative after',
      status: 400,
      paths: [/(^|\.)after$/],
      send: () => h.api('GET', '/v1/outbox?after=-1'),
    },

    // ---- teacher routes
    {
      name: 'register batch: malformed JSON',
      status: 400,
      send: () => h.api('POST', '/v1/batches', { ...asA(), raw: '{"course_code": "ENG5",', headers: JSON_HEADERS }),
    },
    {
      name: 'register batch: expected_essay_count as a string',
      status: 400,
      paths: ['expected_essay_count'],
      send: () => h.api('POST', '/v1/batches', { ...asA(), body: { ...validRegister(), expected_essay_count: '2' } }),
    },
    {
      name: 'register batch: expected_essay_count overflowing to Infinity',
      status: 400,
      paths: ['expected_essay_count'],
      send: () =>
        h.api('POST', '/v1/batches', {
          ...asA(),
          raw: `{"course_code":"ENG5","class_id":"${klassA.classId}","expected_essay_count":1e400}`,
          headers: JSON_HEADERS,
        }),
    },
    {
      name: 'register batch: a non-UUID batch_id',
      status: 400,
      paths: ['batch_id'],
      send: () => h.api('POST', '/v1/batches', { ...asA(), body: { ...validRegister(), batch_id: 'my-batch' } }),
    },
    {
      name: 'register batch: a non-UUID class_id',
      status: 400,
      paths: ['class_id'],
      send: () => h.api('POST', '/v1/batches', { ...asA(), body: { ...validRegister(), class_id: 'class-1' } }),
    },
    {
      name: 'register batch: an unknown course_code',
      status: 400,
      paths: ['course_code'],
      send: () => h.api('POST', '/v1/batches', { ...asA(), body: { course_code: 'MATH1', expected_essay_count: 2 } }),
    },
    {
      name: 'register batch: an unknown field',
      status: 400,
      names: 'owner_id',
      send: () => h.api('POST', '/v1/batches', { ...asA(), body: { ...validRegister(), owner_id: 'teacher-b' } }),
    },
    {
      name: 'register batch: text/plain',
      status: 415,
      send: () =>
        h.api('POST', '/v1/batches', { ...asA(), raw: JSON.stringify(validRegister()), headers: { 'content-type': 'text/plain' } }),
    },
    {
      name: 'register batch: an expired JWT',
      status: 401,
      send: async () => h.api('POST', '/v1/batches', { token: await expiredJwt(), body: validRegister() }),
    },
    {
      name: 'register batch: a JWT signed with another secret',
      status: 401,
      send: async () => h.api('POST', '/v1/batches', { token: await foreignJwt(), body: validRegister() }),
    },
    {
      name: 'register batch: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('POST', '/v1/batches', { body: validRegister() }),
    },
    {
      name: 'create class: an unknown course_code',
      status: 400,
      paths: ['course_code'],
      send: () => h.api('POST', '/v1/classes', { ...asA(), body: { name: 'Class', course_code: 'ENG9' } }),
    },
    {
      name: 'create class: name as a number',
      status: 400,
      paths: ['name'],
      send: () => h.api('POST', '/v1/classes', { ...asA(), body: { name: 12, course_code: 'ENG5' } }),
    },
    {
      name: 'create class: an unknown field',
      status: 400,
      names: 'teacher_id',
      send: () => h.api('POST', '/v1/classes', { ...asA(), body: { name: 'Class', course_code: 'ENG5', teacher_id: 'teacher-b' } }),
    },
    {
      name: 'create class: a 2 MiB body',
      status: 413,
      send: () => h.api('POST', '/v1/classes', { ...asA(), body: { name: 'x'.repeat(TWO_MIB), course_code: 'ENG5' } }),
    },
    {
      name: 'create class: text/plain',
      status: 415,
      send: () =>
        h.api('POST', '/v1/classes', {
          ...asA(),
          raw: JSON.stringify({ name: 'Class', course_code: 'ENG5' }),
          headers: { 'content-type': 'text/plain' },
        }),
    },
    {
      name: 'create class: no token',
      status: 401,
      send: () => h.api('POST', '/v1/classes', { token: null, body: { name: 'Class', course_code: 'ENG5' } }),
    },
    {
      name: 'create class: a JWT with an empty sub',
      status: 401,
      send: async () => h.api('POST', '/v1/classes', { token: await emptySubJwt(), body: { name: 'Class', course_code: 'ENG5' } }),
    },
    {
      name: 'create class: a JWT without sub',
      status: 401,
      send: async () => h.api('POST', '/v1/classes', { token: await noSubJwt(), body: { name: 'Class', course_code: 'ENG5' } }),
    },
    {
      name: 'create class: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('POST', '/v1/classes', { body: { name: 'Class', course_code: 'ENG5' } }),
    },
    {
      name: 'add students: an unknown field on a student',
      status: 400,
      names: 'grade',
      send: () =>
        h.api('POST', `/v1/classes/${klassA.classId}/students`, {
          ...asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'new.student@school.example', grade: 'A' }] },
        }),
    },
    {
      name: 'add students: an email that is not one',
      status: 400,
      paths: ['students.0.email'],
      send: () =>
        h.api('POST', `/v1/classes/${klassA.classId}/students`, {
          ...asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'not-an-email' }] },
        }),
    },
    {
      name: 'add students: a non-UUID class id in the path',
      status: 400,
      paths: [/(^|\.)class_id$/],
      send: () =>
        h.api('POST', '/v1/classes/class-1/students', {
          ...asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'new.student@school.example' }] },
        }),
    },
    {
      name: 'roster: a non-UUID class id in the path',
      status: 400,
      paths: [/(^|\.)class_id$/],
      send: () => h.api('GET', '/v1/classes/class-1/students', asA()),
    },
    {
      name: 'list batches: an invalid status query',
      status: 400,
      paths: [/(^|\.)status$/],
      send: () => h.api('GET', '/v1/batches?status=bogus', asA()),
    },
    {
      name: 'list batches: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('GET', '/v1/batches'),
    },
    {
      name: 'get batch: a non-UUID batch id in the path',
      status: 400,
      paths: [/(^|\.)batch_id$/],
      send: () => h.api('GET', '/v1/batches/not-a-uuid', asA()),
    },
    {
      name: 'get batch: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('GET', `/v1/batches/${registeredBatch}`),
    },
    {
      name: 'history: a non-UUID batch id in the path',
      status: 400,
      paths: [/(^|\.)batch_id$/],
      send: () => h.api('GET', '/v1/batches/12345/history', asA()),
    },
    {
      name: 'confirm: confirmed as a string',
      status: 400,
      paths: ['associations.0.confirmed'],
      send: () =>
        h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, {
          ...asA(),
          body: { associations: [{ essay_id: pendingBatch.list[0]!.essay_id, confirmed: 'yes' }] },
        }),
    },
    {
      name: 'confirm: a non-UUID essay_id',
      status: 400,
      paths: ['associations.0.essay_id'],
      send: () =>
        h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, {
          ...asA(),
          body: { associations: [{ essay_id: 'essay-1', confirmed: true }] },
        }),
    },
    {
      name: 'confirm: an unknown field',
      status: 400,
      names: 'force',
      send: () =>
        h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, {
          ...asA(),
          body: { ...validConfirm(), force: true },
        }),
    },
    {
      name: 'confirm: a non-UUID batch id in the path',
      status: 400,
      paths: [/(^|\.)batch_id$/],
      send: () => h.api('POST', '/v1/batches/batch-1/student-associations/confirm', { ...asA(), body: validConfirm() }),
    },
    {
      name: 'confirm: an Idempotency-Key with spaces',
      status: 400,
      paths: [/idempotency-key$/i],
      send: () =>
        h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, {
          ...asA(),
          body: validConfirm(),
          headers: { 'idempotency-key': 'two words' },
        }),
    },
    {
      name: 'confirm: text/plain',
      status: 415,
      send: () =>
        h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, {
          ...asA(),
          raw: JSON.stringify(validConfirm()),
          headers: { 'content-type': 'text/plain' },
        }),
    },
    {
      name: 'confirm: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('POST', `/v1/batches/${pendingBatch.batchId}/student-associations/confirm`, { body: validConfirm() }),
    },
    {
      name: 'pipelines: an unknown field',
      status: 400,
      names: 'priority',
      send: () => h.api('POST', `/v1/batches/${registeredBatch}/pipelines`, { ...asA(), body: { pipeline: 'nlp', priority: 1 } }),
    },
    {
      name: 'pipelines: pipeline as a number',
      status: 400,
      paths: ['pipeline'],
      send: () => h.api('POST', `/v1/batches/${registeredBatch}/pipelines`, { ...asA(), body: { pipeline: 1 } }),
    },
    {
      name: 'pipelines: a non-UUID batch id in the path',
      status: 400,
      paths: [/(^|\.)batch_id$/],
      send: () => h.api('POST', '/v1/batches/not-a-uuid/pipelines', { ...asA(), body: { pipeline: 'nlp' } }),
    },
    {
      name: 'cancel: a non-UUID batch id in the path',
      status: 400,
      paths: [/(^|\.)batch_id$/],
      send: () => h.api('POST', '/v1/batches/not-a-uuid/cancel', { ...asA(), body: {} }),
    },
    {
      name: 'cancel: an unknown field',
      status: 400,
      names: 'force',
      send: () => h.api('POST', `/v1/batches/${registeredBatch}/cancel`, { ...asA(), body: { force: true } }),
    },
    {
      name: 'cancel: an expired JWT',
      status: 401,
      send: async () => h.api('POST', `/v1/batches/${registeredBatch}/cancel`, { token: await expiredJwt(), body: {} }),
    },
    {
      name: 'cancel: the service token (teacher-only route)',
      status: 403,
      send: () => h.api('POST', `/v1/batches/${registeredBatch}/cancel`, { body: {} }),
    },
  ];

  describe('bad requests answer their 4xx as problem+json and change nothing', () => {
    it.each(badRequests)('$name → $status', async (bad) => {
      const before = await rowCounts(h);
      const res = await bad.send();
      expectProblem(res, bad.status);
      for (const path of bad.paths ?? []) {
        const paths = errorPaths(res);
        if (typeof path === 'string') expect(paths).toContain(path);
        else
          expect(
            paths.some((p) => path.test(p)),
            `${JSON.stringify(paths)} should match ${path}`,
          ).toBe(true);
      }
      if (bad.names) expectNamesField(res, bad.names);
      expect(await rowCounts(h)).toEqual(before);
    });

    it('no bad request answers a 5xx', async () => {
      const serverErrors: string[] = [];
      for (const bad of badRequests) {
        const res = await bad.send();
        if (res.status >= 500) serverErrors.push(`${bad.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      expect(serverErrors).toEqual([]);
    });

    it('the fixture batches are where the bad requests found them', async () => {
      // Every bad request above aimed at a batch that a valid request would have moved.
      expect((await batchView(teacherA, registeredBatch)).state).toBe('awaiting_content_validation');
      expect((await batchView(teacherA, suggestingBatch.batchId)).status).toBe('awaiting_student_validation');
      const pending = await batchView(teacherA, pendingBatch.batchId);
      expect(pending.validation).toMatchObject({ pending: 2, confirmed: 0 });
    });
  });

  // ---------------------------------------------------------------------------------------------
  // 2. Ownership: another teacher's batch or class does not exist for them.

  describe("another teacher's batch or class answers 404", () => {
    let batchA: { batchId: string; list: ReturnType<typeof essays> };
    beforeAll(async () => {
      batchA = await regular(teacherA, klassA, 'suggested');
    });

    const foreignBatchRequests = (batchId: string, essayId: string) => [
      { name: 'GET batch', method: 'GET', path: `/v1/batches/${batchId}` },
      { name: 'GET associations', method: 'GET', path: `/v1/batches/${batchId}/student-associations` },
      { name: 'GET history', method: 'GET', path: `/v1/batches/${batchId}/history` },
      {
        name: 'POST confirm',
        method: 'POST',
        path: `/v1/batches/${batchId}/student-associations/confirm`,
        body: { associations: [{ essay_id: essayId, confirmed: true }] },
      },
      { name: 'POST pipelines', method: 'POST', path: `/v1/batches/${batchId}/pipelines`, body: { pipeline: 'nlp' } },
      { name: 'POST cancel', method: 'POST', path: `/v1/batches/${batchId}/cancel`, body: { reason: 'not mine' } },
    ];

    it("teacher B gets 404 on every read and command of teacher A's batch, and A's batch is untouched", async () => {
      const viewBefore = await batchView(teacherA, batchA.batchId);
      for (const req of foreignBatchRequests(batchA.batchId, batchA.list[0]!.essay_id)) {
        const before = await rowCounts(h);
        const res = await h.api(req.method, req.path, { token: teacherB, body: req.body });
        expectProblem(res, 404);
        expect(JSON.stringify(res.body), `${req.name} must not leak the batch`).not.toContain(klassA.classId);
        expect(await rowCounts(h), req.name).toEqual(before);
      }
      const viewAfter = await batchView(teacherA, batchA.batchId);
      expect(viewAfter).toEqual(viewBefore);
    });

    it("teacher B's batch list does not show teacher A's batches", async () => {
      const res = await h.api('GET', '/v1/batches', { token: teacherB });
      expect(res.status).toBe(200);
      expect((res.body.batches as Array<{ batch_id: string }>).map((b) => b.batch_id)).not.toContain(batchA.batchId);
    });

    it("teacher B gets 404 on teacher A's class: roster, adding students, registering a batch with it", async () => {
      const requests = [
        { name: 'GET students', method: 'GET', path: `/v1/classes/${klassA.classId}/students` },
        {
          name: 'POST students',
          method: 'POST',
          path: `/v1/classes/${klassA.classId}/students`,
          body: { students: [{ first_name: 'Intruder', last_name: 'Student', email: 'intruder@school.example' }] },
        },
        {
          name: 'POST batches with class_id',
          method: 'POST',
          path: '/v1/batches',
          body: { course_code: klassA.courseCode, class_id: klassA.classId, expected_essay_count: 1 },
        },
      ];
      for (const req of requests) {
        const before = await rowCounts(h);
        const res = await h.api(req.method, req.path, { token: teacherB, body: req.body });
        expectProblem(res, 404);
        expect(await rowCounts(h), req.name).toEqual(before);
      }
      const roster = await h.api('GET', `/v1/classes/${klassA.classId}/students`, { token: teacherA });
      expect(roster.status).toBe(200);
      expect((roster.body.students as Array<{ email: string }>).map((s) => s.email)).not.toContain('intruder@school.example');
    });

    it('an unknown batch id answers 404 to a teacher and to a service, changing nothing', async () => {
      const unknown = uuid();
      for (const req of foreignBatchRequests(unknown, uuid())) {
        const before = await rowCounts(h);
        const res = await h.api(req.method, req.path, { token: teacherA, body: req.body });
        expectProblem(res, 404);
        expect(await rowCounts(h), req.name).toEqual(before);
      }
      const before = await rowCounts(h);
      expectProblem(await postEvent(h, provisioned(unknown, essays(1))), 404);
      expect(await rowCounts(h)).toEqual(before);
    });

    it('an unknown class id answers 404 to its would-be owner', async () => {
      const unknown = uuid();
      const before = await rowCounts(h);
      expectProblem(await h.api('GET', `/v1/classes/${unknown}/students`, { token: teacherA }), 404);
      expectProblem(
        await h.api('POST', '/v1/batches', { token: teacherA, body: { course_code: 'ENG5', class_id: unknown, expected_essay_count: 1 } }),
        404,
      );
      expect(await rowCounts(h)).toEqual(before);
    });
  });

  // ---------------------------------------------------------------------------------------------
  // 3. Duplicates: the same event id is applied once and answered the same way forever.

  describe('duplicates', () => {
    it('the same envelope twice answers 200 both times, the second duplicate:true with the same body, applied once', async () => {
      const { batchId } = await regular(teacherA, klassA, 'registered');
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
      const rows = (await history(teacherA, batchId)).filter((r) => r.event_id === event.event_id);
      expect(rows.filter((r) => r.outcome === 'applied')).toHaveLength(1);
      const commands = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
      expect(commands).toHaveLength(1);
    });

    it('a duplicate event id arriving after the batch moved on still answers duplicate:true, not 409', async () => {
      const { batchId } = await regular(teacherA, klassA, 'registered');
      const list = essays(2);
      const event = provisioned(batchId, list);
      const first = await postEvent(h, event);
      expect(first.status).toBe(200);
      const moved = await postEvent(
        h,
        suggested(
          batchId,
          klassA.classId,
          list.map((essay, i) => ({ essay, student_id: klassA.students[i]!.student_id })),
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
      expect((await history(teacherA, batchId)).filter((r) => r.event_id === event.event_id && r.outcome === 'applied')).toHaveLength(1);
      expect((await batchView(teacherA, batchId)).state).toBe(moved.body.state);
    });

    it('the confirm route honours Idempotency-Key: same key twice, same answer, applied once', async () => {
      const { batchId, list } = await regular(teacherA, klassA, 'suggested');
      const url = `/v1/batches/${batchId}/student-associations/confirm`;
      const body = { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] };
      const headers = { 'idempotency-key': 'confirm-first-essay' };
      const appliedRows = async () => (await history(teacherA, batchId)).filter((r) => r.outcome === 'applied').length;
      const appliedBefore = await appliedRows();
      const before = await rowCounts(h);

      const first = await h.api('POST', url, { token: teacherA, body, headers });
      expect(first.status).toBe(200);
      expect(first.body.duplicate).toBe(false);
      expect(first.body.results).toEqual([expect.objectContaining({ essay_id: list[0]!.essay_id, outcome: 'applied' })]);
      const afterFirst = await rowCounts(h);
      expect(afterFirst.snapshot_versions).toBe(before.snapshot_versions! + 1);
      expect(await appliedRows()).toBe(appliedBefore + 1);

      const second = await h.api('POST', url, { token: teacherA, body, headers });
      expect(second.status).toBe(200);
      expect(second.body).toEqual({ ...first.body, duplicate: true });
      const afterSecond = await rowCounts(h);
      expect({ ...afterSecond, history: 0 }).toEqual({ ...afterFirst, history: 0 });
      expect(await appliedRows()).toBe(appliedBefore + 1);

      const view = await batchView(teacherA, batchId);
      expect(view.validation).toMatchObject({ pending: 1, confirmed: 1 });
    });

    it('an Idempotency-Key replayed after validation completed still answers duplicate:true with the first answer', async () => {
      const { batchId, list } = await regular(teacherA, klassA, 'suggested');
      const url = `/v1/batches/${batchId}/student-associations/confirm`;
      const body = { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] };
      const headers = { 'idempotency-key': 'confirm-then-finish' };
      const first = await h.api('POST', url, { token: teacherA, body, headers });
      expect(first.status).toBe(200);
      const finish = await h.api('POST', url, {
        token: teacherA,
        body: { associations: [{ essay_id: list[1]!.essay_id, confirmed: false }] },
      });
      expect(finish.status).toBe(200);
      expect(finish.body.status).toBe('student_validation_completed');

      const before = await rowCounts(h);
      const replay = await h.api('POST', url, { token: teacherA, body, headers });
      expect(replay.status).toBe(200);
      expect(replay.body).toEqual({ ...first.body, duplicate: true });
      const after = await rowCounts(h);
      expect({ ...after, history: 0 }).toEqual({ ...before, history: 0 });
    });
  });

  // ---------------------------------------------------------------------------------------------
  // 4. Refusals: 409 with the state and what it accepts; only the audit log records them.

  describe('refused events', () => {
    /** Everything but the history is as before; the history gained exactly the refusal. */
    function expectOnlyHistoryGrew(before: Record<string, number>, after: Record<string, number>) {
      expect(after).toEqual({ ...before, history: before.history! + 1 });
    }

    it('ESSAYS_READY for a REGULAR batch awaiting content answers 409 and only the history records it', async () => {
      const { batchId, list } = await regular(teacherA, klassA, 'registered');
      const viewBefore = await batchView(teacherA, batchId);
      const event = essaysReady(batchId, list, 'REGULAR');
      const before = await rowCounts(h);

      const res = await postEvent(h, event);
      expectProblem(res, 409);
      expect(res.body.state).toBe('awaiting_content_validation');
      expect(res.body.event).toBe(TOPICS.essaysReady);
      expect(res.body.allowed_events).toContain(TOPICS.contentProvisioned);
      expect(res.body.allowed_events).not.toContain(TOPICS.essaysReady);

      expectOnlyHistoryGrew(before, await rowCounts(h));
      const refused = (await history(teacherA, batchId)).filter((r) => r.outcome === 'refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({
        event_id: event.event_id,
        event_type: TOPICS.essaysReady,
        from_state: 'awaiting_content_validation',
      });
      expect(refused[0]!.reason).toEqual(expect.any(String));
      expect(refused[0]!.reason).not.toBe('');
      expect(await batchView(teacherA, batchId)).toEqual(viewBefore);
    });

    it('a teacher pipeline request before ready_for_pipeline_execution answers 409 and only the history records it', async () => {
      const { batchId } = await regular(teacherA, klassA, 'registered');
      const viewBefore = await batchView(teacherA, batchId);
      const before = await rowCounts(h);

      const res = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacherA, body: { pipeline: 'nlp' } });
      expectProblem(res, 409);
      expect(res.body.state).toBe('awaiting_content_validation');
      expect(res.body.event).toEqual(expect.any(String));
      expect(res.body.allowed_events).toContain(TOPICS.contentProvisioned);
      expect(res.body.allowed_events).not.toContain(res.body.event);

      expectOnlyHistoryGrew(before, await rowCounts(h));
      const refused = (await history(teacherA, batchId)).filter((r) => r.outcome === 'refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]!.reason).toEqual(expect.any(String));
      expect(await batchView(teacherA, batchId)).toEqual(viewBefore);
    });

    it('a service pipeline request while associations are pending answers 409 and leaves the deadline alone', async () => {
      const { batchId } = await regular(teacherA, klassA, 'suggested');
      const viewBefore = await batchView(teacherA, batchId);
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
      const refused = (await history(teacherA, batchId)).filter((r) => r.outcome === 'refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ event_id: event.event_id, event_type: TOPICS.pipelineRequest });
      expect(await batchView(teacherA, batchId)).toEqual(viewBefore);
    });
  });

  // ---------------------------------------------------------------------------------------------
  // 5. Registering a batch id that exists.

  describe('registering an existing batch_id', () => {
    it('answers 409 to its owner and changes nothing', async () => {
      const batchId = uuid();
      await registerBatch(h, teacherA, { course_code: 'ENG5', expected_essay_count: 1, batch_id: batchId });
      const viewBefore = await batchView(teacherA, batchId);
      const before = await rowCounts(h);
      const res = await h.api('POST', '/v1/batches', {
        token: teacherA,
        body: { course_code: 'ENG6', expected_essay_count: 5, batch_id: batchId },
      });
      expectProblem(res, 409);
      expect(await rowCounts(h)).toEqual(before);
      expect(await batchView(teacherA, batchId)).toEqual(viewBefore);
    });

    it('answers 409 to another teacher too, and the batch stays its owner’s', async () => {
      const batchId = uuid();
      await registerBatch(h, teacherA, { course_code: 'ENG5', expected_essay_count: 1, batch_id: batchId });
      const viewBefore = await batchView(teacherA, batchId);
      const before = await rowCounts(h);
      const res = await h.api('POST', '/v1/batches', {
        token: teacherB,
        body: { course_code: 'ENG5', expected_essay_count: 1, batch_id: batchId },
      });
      expectProblem(res, 409);
      expect(await rowCounts(h)).toEqual(before);
      expect(await batchView(teacherA, batchId)).toEqual(viewBefore);
      expect((await h.api('GET', `/v1/batches/${batchId}`, { token: teacherB })).status).toBe(404);
    });
  });
});
