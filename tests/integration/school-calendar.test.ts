import { describe, expect, it } from 'vitest';
import { createClassWithStudents, essays, postEvent, provisioned, registerBatch, suggested } from '../support/flow.ts';
import { schoolDayOptions } from '../support/harness.ts';
import { FRIDAY_1505, FRIDAY_TO_MONDAY } from '../support/school-days.ts';
import { teacherSuite } from '../support/suite.ts';

/**
 * Deadlines in school time, through the API: the service counts one school day in Stockholm
 * (Monday to Friday, 08:00–16:00); a class may have its own calendar, and changing it moves the
 * pending deadlines it set. The clock is the test's: suggestions arrive on Friday 4 December 2026
 * at 15:05 local time.
 */
const SWEDISH_WEEK = ['mon', 'tue', 'wed', 'thu', 'fri'];

describe.each([
  ['PostgreSQL', false],
  ['the embedded database', true],
])('validation deadlines counted in school days, on %s', (_name, pglite) => {
  const clock = FRIDAY_1505;
  const { h, fx } = teacherSuite(schoolDayOptions('school_calendar', pglite, clock), 'teacher-calendar');

  /** A batch of the class waiting for its teacher, suggested at the test's clock. */
  async function waitingBatch(classId: string, student: string) {
    const batchId = await registerBatch(h, fx.teacher, { course_code: 'ENG5', class_id: classId, expected_essay_count: 1 });
    const list = essays(1);
    expect((await postEvent(h, provisioned(batchId, list))).status).toBe(200);
    expect((await postEvent(h, suggested(batchId, classId, [{ essay: list[0]!, student_id: student }]))).status).toBe(200);
    return batchId;
  }
  const deadlineOf = async (batchId: string) => {
    const res = await h.api('GET', '/v1/deadlines', { token: fx.teacher });
    expect(res.status).toBe(200);
    return (res.body.deadlines as Array<{ batch_id: string; due_at: string; why: any }>).find((d) => d.batch_id === batchId)!;
  };
  const putCalendar = (classId: string, body: unknown, token = fx.teacher) =>
    h.api('PUT', `/v1/classes/${classId}/calendar`, { token, body });

  it('puts a Friday afternoon batch on Monday at the same time, and says why', async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    const batchId = await waitingBatch(klass.classId, klass.students[0]!.student_id);
    const d = await deadlineOf(batchId);
    expect(d.due_at).toBe('2026-12-07T14:05:00.000Z');
    expect(d.why).toEqual(FRIDAY_TO_MONDAY);
    const calendar = await h.api('GET', `/v1/classes/${klass.classId}/calendar`, { token: fx.teacher });
    expect(calendar.body).toMatchObject({ source: 'service', rule: { kind: 'school_days', days: 1 } });
    expect(calendar.body.calendar.school_days).toEqual(SWEDISH_WEEK);
  });

  it("moves the class's pending deadlines when its calendar closes a day, once, under the teacher's name", async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    const other = await createClassWithStudents(h, fx.teacher);
    const batchId = await waitingBatch(klass.classId, klass.students[0]!.student_id);
    const untouched = await waitingBatch(other.classId, other.students[0]!.student_id);
    const studiedag = {
      time_zone: 'Europe/Stockholm',
      school_days: SWEDISH_WEEK,
      opens: '08:00',
      closes: '16:00',
      closed: [{ from: '2026-12-07', name: 'Studiedag' }],
    };
    const changed = await putCalendar(klass.classId, studiedag);
    expect(changed.status).toBe(200);
    expect(changed.body.moved).toEqual([
      { batch_id: batchId, from_due_at: '2026-12-07T14:05:00.000Z', to_due_at: '2026-12-08T14:05:00.000Z' },
    ]);
    const d = await deadlineOf(batchId);
    expect(d.due_at).toBe('2026-12-08T14:05:00.000Z');
    expect(d.why).toMatchObject({ local: '2026-12-08 15:05', calendar_changed_by: 'teacher-calendar' });
    expect(d.why.skipped).toContainEqual({ date: '2026-12-07', why: 'closed', name: 'Studiedag' });
    expect((await deadlineOf(untouched)).due_at).toBe('2026-12-07T14:05:00.000Z');

    const history = (await h.api('GET', `/v1/batches/${batchId}/history`, { token: fx.teacher })).body.history as any[];
    const move = history.filter((r) => r.event_type === 'DEADLINE_CHANGED');
    expect(move).toHaveLength(1);
    expect(move[0]).toMatchObject({ actor: 'teacher-calendar', outcome: 'applied' });
    expect(move[0].detail).toMatchObject({ from_due_at: '2026-12-07T14:05:00.000Z', to_due_at: '2026-12-08T14:05:00.000Z' });

    // The same calendar again: nothing moves, nothing is written.
    const again = await putCalendar(klass.classId, studiedag);
    expect(again.body.moved).toEqual([]);
    expect(again.body.kept).toEqual([{ batch_id: batchId, due_at: '2026-12-08T14:05:00.000Z', why: 'already falls on this calendar' }]);
    expect((await h.api('GET', `/v1/batches/${batchId}/history`, { token: fx.teacher })).body.history).toHaveLength(history.length);
    expect((await h.api('GET', `/v1/classes/${klass.classId}/calendar`, { token: fx.teacher })).body).toMatchObject({
      source: 'class',
      calendar: { closed: [{ from: '2026-12-07', to: '2026-12-07', name: 'Studiedag' }] },
    });
  });

  it("keeps a deadline the teacher moved: a teacher's extension wins over the calendar", async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    const batchId = await waitingBatch(klass.classId, klass.students[0]!.student_id);
    const extended = await h.api('POST', `/v1/batches/${batchId}/deadline`, { token: fx.teacher, body: { extend_by_ms: 3_600_000 } });
    expect(extended.status).toBe(200);
    expect((await deadlineOf(batchId)).why).toEqual({ rule: 'moved', by: 'teacher-calendar' });
    const changed = await putCalendar(klass.classId, { ...DEFAULT_BODY, closed: [{ from: '2026-12-07' }] });
    expect(changed.body.moved).toEqual([]);
    expect(changed.body.kept).toEqual([
      { batch_id: batchId, due_at: '2026-12-07T15:05:00.000Z', why: "moved by teacher-calendar; a teacher's deadline stays" },
    ]);
  });

  it('refuses a calendar it cannot count in, naming the field, and changes nothing', async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    for (const [body, path] of [
      [{ ...DEFAULT_BODY, time_zone: 'Mars/Olympus_Mons' }, 'time_zone'],
      [{ ...DEFAULT_BODY, opens: '16:00', closes: '08:00' }, 'closes'],
      [{ ...DEFAULT_BODY, school_days: [] }, 'school_days'],
      [{ ...DEFAULT_BODY, closed: [{ from: '2026-02-30' }] }, 'closed.0.from'],
      [{ ...DEFAULT_BODY, school_days: ['monday'] }, 'school_days.0'],
    ] as const) {
      const res = await putCalendar(klass.classId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect((res.body.errors as Array<{ path: string }>).map((e) => e.path)).toContain(path);
    }
    expect((await h.api('GET', `/v1/classes/${klass.classId}/calendar`, { token: fx.teacher })).body.source).toBe('service');
  });

  it("answers 404 for another teacher's class and 403 for the service token", async () => {
    const klass = await createClassWithStudents(h, fx.teacher);
    const stranger = await h.teacher('teacher-stranger');
    expect((await putCalendar(klass.classId, DEFAULT_BODY, stranger)).status).toBe(404);
    expect((await h.api('GET', `/v1/classes/${klass.classId}/calendar`, { token: stranger })).status).toBe(404);
    expect((await putCalendar(klass.classId, DEFAULT_BODY, h.serviceToken)).status).toBe(403);
  });
});

const DEFAULT_BODY = {
  time_zone: 'Europe/Stockholm',
  school_days: SWEDISH_WEEK,
  opens: '08:00',
  closes: '16:00',
  closed: [] as Array<{ from: string; to?: string; name?: string }>,
};
