import { describe, expect, it } from 'vitest';
import { type Harness, harnessForSuite } from '../support/harness.ts';

/**
 * Issue 20: a 503 (or a lost answer) can hide a committed write, so a client retries. Creating a class
 * and adding students accept Idempotency-Key like the batch commands: the retry answers the first
 * answer and creates nothing; the key with another request answers 422 and changes nothing.
 */

const students = (tag: string) => [
  { first_name: 'Astrid', last_name: 'Lindqvist', email: `astrid.${tag}@school.example` },
  { first_name: 'Bo', last_name: 'Ek', email: `bo.${tag}@school.example` },
];

function suite(h: Harness) {
  const post = async (path: string, token: string, body: unknown, key?: string) =>
    h.api('POST', path, { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });
  const classCount = async (token: string, name: string) =>
    ((await h.api('GET', '/v1/classes', { token })).body.classes as Array<{ name: string }>).filter((c) => c.name === name).length;

  it('creates a class once per key: a retry answers the same class, another body 422', async () => {
    const teacher = await h.teacher('teacher-keyed');
    const body = { name: 'Keyed group', course_code: 'ENG5' };
    const first = await post('/v1/classes', teacher, body, 'class-1');
    expect(first.status).toBe(201);
    const again = await post('/v1/classes', teacher, body, 'class-1');
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await classCount(teacher, 'Keyed group')).toBe(1);

    const other = await post('/v1/classes', teacher, { name: 'Another group', course_code: 'ENG5' }, 'class-1');
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toBe('application/problem+json');
    expect(await classCount(teacher, 'Another group')).toBe(0);

    // Without a key every request creates; the key is the teacher's own.
    expect((await post('/v1/classes', teacher, body)).body.class_id).not.toBe(first.body.class_id);
    const someoneElse = await h.teacher('teacher-other');
    expect((await post('/v1/classes', someoneElse, body, 'class-1')).body.class_id).not.toBe(first.body.class_id);
  });

  it('answers concurrent requests with one key with one class', async () => {
    const teacher = await h.teacher('teacher-race');
    const body = { name: 'Raced group', course_code: 'SV1' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => post('/v1/classes', teacher, body, 'race-1')));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(201));
    expect(new Set(answers.map((a) => a.body.class_id)).size).toBe(1);
    expect(await classCount(teacher, 'Raced group')).toBe(1);
  });

  it('adds students once per key: a retry answers the same students instead of 409, another body 422', async () => {
    const teacher = await h.teacher('teacher-students');
    const created = await post('/v1/classes', teacher, { name: 'Roster group', course_code: 'ENG6' });
    const path = `/v1/classes/${created.body.class_id}/students`;
    const first = await post(path, teacher, { students: students('a') }, 'students-1');
    expect(first.status).toBe(201);
    const again = await post(path, teacher, { students: students('a') }, 'students-1');
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await h.api('GET', path, { token: teacher })).body.students).toHaveLength(2);

    const other = await post(path, teacher, { students: students('b') }, 'students-1');
    expect(other.status).toBe(422);
    expect((await h.api('GET', path, { token: teacher })).body.students).toHaveLength(2);

    // A refusal is not remembered: the same key answers 409 again while the e-mails are taken.
    const taken = await post(path, teacher, { students: students('a') }, 'students-2');
    expect(taken.status).toBe(409);
    expect((await post(path, teacher, { students: students('a') }, 'students-2')).status).toBe(409);
  });

  it('refuses a malformed key with 400 and creates nothing', async () => {
    const teacher = await h.teacher('teacher-badkey');
    const bad = await post('/v1/classes', teacher, { name: 'Bad key group', course_code: 'ENG5' }, 'has space');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('headers.idempotency-key');
    expect(await classCount(teacher, 'Bad key group')).toBe(0);
  });
}

describe('Idempotency-Key on creating classes and students, on PostgreSQL', () => {
  suite(harnessForSuite({ label: 'idem_create' }));
});

describe('Idempotency-Key on creating classes and students, on PGlite', () => {
  suite(harnessForSuite({ label: 'idem_create_lite', pglite: true }));
});
