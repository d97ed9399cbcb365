import { sign } from 'hono/jwt';
import { beforeAll, expect } from 'vitest';
import { type ClassFixture, createClassWithStudents, essays } from '../../support/flow.ts';
import { postEvent, provisioned, registerBatch, suggested } from '../../support/flow.ts';
import { type ApiResponse, type Harness, harnessForSuite } from '../../support/harness.ts';

/**
 * What the HTTP error tests share: the problem+json checks, the bad-request shape and its route-family
 * tables' fixture, and a suite of two teachers and a class of teacher A's over the file's own database.
 * Client mistakes, foreign ids, repeats and refusals go through the real HTTP app and a real
 * PostgreSQL database: each answers its own 4xx problem+json (never a 500) and changes nothing.
 */

const PROBLEM_JSON = /^application\/problem\+json/;
export const TWO_MIB = 2 * 1024 * 1024;
export const JSON_HEADERS = { 'content-type': 'application/json' };

/** The RFC 9457 shape of every error (contract section 3); 400s also name the fields at fault. */
export function expectProblem(res: ApiResponse, status: number) {
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

export const errorPaths = (res: ApiResponse): string[] => (res.body?.errors ?? []).map((e: { path: string }) => e.path);

/** An unknown field is only useful to a client if the error names it, in the path or the message. */
export function expectNamesField(res: ApiResponse, field: string) {
  const named = (res.body.errors as Array<{ path: string; message: string }>).some(
    (e) => e.path.split('.').includes(field) || e.message.includes(field),
  );
  expect(named, `errors ${JSON.stringify(res.body.errors)} should name ${field}`).toBe(true);
}

/** A bad request of a route family's table: the right 4xx, problem+json, nothing changed. */
export interface BadRequest {
  name: string;
  status: 400 | 401 | 403 | 413 | 415;
  /** For 400s: a path each listed field error must have (exact, or a pattern). */
  paths?: Array<string | RegExp>;
  /** For unknown-field 400s: the field the errors must name. */
  names?: string;
  send(): Promise<ApiResponse>;
}

/** A teacher-only route's request with the service token (h.api's default credentials): 403. */
export const serviceTokenRefused = (route: string, send: () => Promise<ApiResponse>): BadRequest => ({
  name: `${route}: the service token (teacher-only route)`,
  status: 403,
  send,
});

/** A request whose path names no UUID where the batch id goes: a 400 naming batch_id. */
export const nonUuidInPath = (route: string, send: () => Promise<ApiResponse>): BadRequest => ({
  name: `${route}: a non-UUID batch id in the path`,
  status: 400,
  paths: [/(^|\.)batch_id$/],
  send,
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
export const expiredJwt = (h: Harness) =>
  sign({ sub: 'teacher-a', iat: nowSeconds() - 3600, exp: nowSeconds() - 60 }, h.jwtSecret, 'HS256');
export const foreignJwt = (h: Harness) => sign({ sub: 'teacher-a', exp: nowSeconds() + 3600 }, `${h.jwtSecret}-not-ours`, 'HS256');
export const emptySubJwt = (h: Harness) => sign({ sub: '', exp: nowSeconds() + 3600 }, h.jwtSecret, 'HS256');
export const noSubJwt = (h: Harness) => sign({ exp: nowSeconds() + 3600 }, h.jwtSecret, 'HS256');

type Stage = 'registered' | 'provisioned' | 'suggested';
export type FixtureBatch = { batchId: string; list: ReturnType<typeof essays> };

/** Teachers A and B and a REGULAR class of teacher A's with 3 students, made before the file's tests. */
export interface Teachers {
  teacherA: string;
  teacherB: string;
  klassA: ClassFixture;
}

/**
 * A suite over its own database (the label names it): the harness, the teachers and their class
 * (read through `fx` once the tests run), and the helpers that make and read batches through the API.
 */
export function errorsSuite(label: string) {
  const h = harnessForSuite({ label });
  const fx = {} as Teachers;
  beforeAll(async () => {
    fx.teacherA = await h.teacher('teacher-a');
    fx.teacherB = await h.teacher('teacher-b');
    fx.klassA = await createClassWithStudents(h, fx.teacherA, 'ENG5', 3);
  });

  async function regular(token: string, klass: ClassFixture, stage: Stage, count = 2): Promise<FixtureBatch> {
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

  return { h, fx, regular, history, batchView };
}

/** What the route families' bad requests aim at: batches that a valid request would move. */
export interface BadRequestFixture extends Teachers {
  readonly h: Harness;
  /** Teacher A's REGULAR batch, still awaiting_content_validation. */
  registeredBatch: string;
  /** Teacher A's REGULAR batch, provisioned: waiting for match suggestions. */
  suggestingBatch: FixtureBatch;
  /** Teacher A's REGULAR batch with two pending associations. */
  pendingBatch: FixtureBatch;
  asA(): { token: string };
}
