import { sign } from 'hono/jwt';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClassFixture, createClassWithStudents, essays, postEvent } from '../support/flow.ts';
import { provisioned, registerBatch, rowCounts, suggested, uuid } from '../support/flow.ts';
import { type ApiResponse, harnessForSuite } from '../support/harness.ts';

/**
 * Issue 10, items 2, 3, 7 and 8, on PostgreSQL and on the embedded PGlite database: values
 * PostgreSQL refuses are 400s naming the field, reused idempotency keys are 422s, tokens must
 * expire, and a 409 says why where the client reads first. Each changes nothing.
 */

function expectBadField(res: ApiResponse, field: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path);
  expect(
    paths.some((p) => p === field || p.endsWith(`.${field}`)),
    `${JSON.stringify(paths)} should name ${field}`,
  ).toBe(true);
}

describe.each([
  { label: 'PostgreSQL', pglite: false },
  { label: 'PGlite', pglite: true },
])('hostile input on $label', ({ pglite }) => {
  const h = harnessForSuite({ label: 'hostile', pglite });
  let teacher: string;
  let klass: ClassFixture;

  beforeAll(async () => {
    teacher = await h.teacher('teacher-hostile');
    klass = await createClassWithStudents(h, teacher);
  });

  async function pendingBatch(count = 2) {
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: count });
    const list = essays(count);
    expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
    const matches = list.map((essay, i) => ({ essay, student_id: klass.students[i % klass.students.length]!.student_id, score: 0.9 }));
    expect((await postEvent(h, suggested(batchId, klass.classId, matches))).status).toBe(200);
    return { batchId, list };
  }

  describe('item 2: text and times PostgreSQL cannot store', () => {
    it('a NUL in a class name, a student name or a text_storage_id is a 400 naming it, and nothing changes', async () => {
      const before = await rowCounts(h);
      expectBadField(await h.api('POST', '/v1/classes', { token: teacher, body: { name: 'a\u0000b', course_code: 'ENG5' } }), 'name');
      expectBadField(
        await h.api('POST', `/v1/classes/${klass.classId}/students`, {
          token: teacher,
          body: { students: [{ first_name: 'As\u0000trid', last_name: 'Lind', email: `nul-${uuid()}@school.example` }] },
        }),
        'first_name',
      );
      const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
      const mid = await rowCounts(h);
      const event = provisioned(batchId, [{ essay_id: uuid(), text_storage_id: 's\u0000-1' }]);
      expectBadField(await postEvent(h, event), 'text_storage_id');
      expect(await rowCounts(h)).toEqual(mid);
      expect(before.classes).toBe(mid.classes);
    });

    it('a lone surrogate in any string that lands in jsonb is a 400 naming it', async () => {
      const { batchId, list } = await pendingBatch(1);
      const before = await rowCounts(h);
      expectBadField(
        await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'spell\ud800check' } }),
        'pipeline',
      );
      expectBadField(await h.api('POST', `/v1/batches/${batchId}/cancel`, { token: teacher, body: { reason: 'oops \udc00' } }), 'reason');
      const withMetadata = suggested(batchId, klass.classId, [{ essay: list[0]!, student_id: klass.students[0]!.student_id }]);
      (withMetadata.data as Record<string, unknown>).processing_metadata = { note: 'x\ud83d' };
      expectBadField(await postEvent(h, withMetadata), 'note');
      const badKey = provisioned(uuid(), essays(1));
      (badKey as Record<string, unknown>).metadata = { 'k\u0000': 1 };
      expectBadField(await postEvent(h, badKey), 'k\u0000');
      expect(await rowCounts(h)).toEqual(before);
    });

    it('a validly signed JWT whose sub has a NUL is a 400 naming it, not a 500', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign({ sub: 'teacher\u0000x', iat: now, exp: now + 600 }, h.jwtSecret, 'HS256');
      const res = await h.api('GET', '/v1/batches', { token });
      expectBadField(res, 'sub');
    });

    it('GET /v1/deadlines?before= with year 0000 or an offset of +23:59 is a 400 naming before', async () => {
      for (const before of ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00+23:59']) {
        expectBadField(await h.api('GET', `/v1/deadlines?before=${encodeURIComponent(before)}`, { token: teacher }), 'before');
      }
      const ok = await h.api('GET', `/v1/deadlines?before=${encodeURIComponent('2026-01-01T00:00:00+14:00')}`, { token: teacher });
      expect(ok.status).toBe(200);
    });
  });

  describe('item 3: a key reused for another request', () => {
    it('the same Idempotency-Key with another body answers 422 and applies nothing; the same request again replays', async () => {
      const { batchId, list } = await pendingBatch(2);
      const key = { 'idempotency-key': `k-${uuid()}` };
      const first = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
        token: teacher,
        headers: key,
        body: { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] },
      });
      expect(first.status).toBe(200);
      const before = await rowCounts(h);
      const other = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
        token: teacher,
        headers: key,
        body: { associations: [{ essay_id: list[1]!.essay_id, confirmed: false }] },
      });
      expect(other.status, JSON.stringify(other.body)).toBe(422);
      expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(other.body.type).toBe('/problems/idempotency-key-reused');
      expect(await rowCounts(h)).toEqual(before);
      const again = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
        token: teacher,
        headers: key,
        body: { associations: [{ confirmed: true, essay_id: list[0]!.essay_id }] },
      });
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ ...first.body, duplicate: true });
    });

    it('an inbound event_id reused with another payload, even for another batch, answers 422', async () => {
      const a = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
      const b = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
      const first = provisioned(a, essays(1));
      expect((await postEvent(h, first)).status).toBe(200);
      const before = await rowCounts(h);
      const otherBatch = { ...provisioned(b, essays(1)), event_id: first.event_id };
      const res = await postEvent(h, otherBatch);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.type).toBe('/problems/idempotency-key-reused');
      const otherPayload = { ...first, source_service: 'someone-else' };
      expect((await postEvent(h, otherPayload)).status).toBe(422);
      expect(await rowCounts(h)).toEqual(before);
      const same = await postEvent(h, first);
      expect(same.status).toBe(200);
      expect(same.body).toMatchObject({ batch_id: a, duplicate: true });
    });

    it("a teacher named teacher-x-<batch id> cannot read another teacher's stored answer through the key scope", async () => {
      // The old scope was `idem-<command>-<teacher>-<batch>-<key>`. Victim: teacher T, batch B, key
      // `<X>-retry`. Attacker: teacher `T-<B>`, their own batch X, key `retry`. Same string.
      const { batchId, list } = await pendingBatch(1);
      const x = uuid();
      const victim = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
        token: teacher,
        headers: { 'idempotency-key': `${x}-retry` },
        body: { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] },
      });
      expect(victim.status).toBe(200);
      const attacker = await h.teacher(`teacher-hostile-${batchId}`);
      const attackerClass = await createClassWithStudents(h, attacker);
      await registerBatch(h, attacker, { course_code: 'ENG5', class_id: attackerClass.classId, expected_essay_count: 1, batch_id: x });
      const res = await h.api('POST', `/v1/batches/${x}/student-associations/confirm`, {
        token: attacker,
        headers: { 'idempotency-key': 'retry' },
        body: { associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] },
      });
      // The attacker's own batch awaits content: their command is refused, and says nothing of B.
      expect(res.status, JSON.stringify(res.body)).toBe(409);
      expect(res.body.batch_id).not.toBe(batchId);
      expect(JSON.stringify(res.body)).not.toContain(batchId);
    });
  });

  describe('item 7: tokens must expire', () => {
    it('a JWT without exp is 401', async () => {
      const token = await sign({ sub: 'teacher-hostile', iat: Math.floor(Date.now() / 1000) }, h.jwtSecret, 'HS256');
      const res = await h.api('GET', '/v1/batches', { token });
      expect(res.status).toBe(401);
      expect(res.body.detail).toMatch(/exp/);
    });

    it('a JWT living longer than the configured maximum is 401; one within it is accepted', async () => {
      const now = Math.floor(Date.now() / 1000);
      const long = await sign({ sub: 'teacher-hostile', iat: now, exp: now + 400 * 24 * 3600 }, h.jwtSecret, 'HS256');
      expect((await h.api('GET', '/v1/batches', { token: long })).status).toBe(401);
      const noIat = await sign({ sub: 'teacher-hostile', exp: now + 400 * 24 * 3600 }, h.jwtSecret, 'HS256');
      expect((await h.api('GET', '/v1/batches', { token: noIat })).status).toBe(401);
      const fine = await sign({ sub: 'teacher-hostile', iat: now, exp: now + 3600 }, h.jwtSecret, 'HS256');
      expect((await h.api('GET', '/v1/batches', { token: fine })).status).toBe(200);
    });
  });

  describe('item 8: a 409 says why', () => {
    it('deciding an already decided association: detail gives the per-item reason, not "does not accept"', async () => {
      const { batchId, list } = await pendingBatch(2);
      const confirm = (body: unknown) => h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, { token: teacher, body });
      expect((await confirm({ associations: [{ essay_id: list[0]!.essay_id, confirmed: true }] })).status).toBe(200);
      const res = await confirm({ associations: [{ essay_id: list[0]!.essay_id, confirmed: false }] });
      expect(res.status).toBe(409);
      expect(res.body.allowed_events).toContain(res.body.event);
      expect(res.body.detail).not.toMatch(/does not accept/);
      expect(res.body.detail).toContain(list[0]!.essay_id);
      expect(res.body.detail).toMatch(/already decided/);
      expect(res.body.results[0]).toMatchObject({
        essay_id: list[0]!.essay_id,
        outcome: 'refused',
        reason: expect.stringMatching(/already decided/),
      });
    });
  });
});
