import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { createSweep } from '../../jobs/sweep.ts';
import { createClassWithStudents, envelope, essays, outboxEvents, postEvent, provisioned } from '../support/flow.ts';
import { registerBatch, rowCounts, uuid, classCreatedByClassService, studentCreatedByClassService } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { eventually } from '../support/poll.ts';
import { wireProblems } from '../support/wire.ts';

/** The real E2E roster (tests/functional/pipeline_harness_helpers/student_management.py): ä and ö in names and e-mails, one empty last name. */
const SWEDISH = [
  { person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' }, email: 'emil.zäll.jernberg@test.edu' },
  { person_name: { first_name: 'Anna', last_name: 'Höglund Öman' }, email: 'anna.höglund.öman@test.edu' },
  { person_name: { first_name: 'Deniz', last_name: 'Özturk' }, email: 'deniz.özturk@test.edu' },
  { person_name: { first_name: 'Liam', last_name: '' } },
];

/** BatchAuthorMatchesSuggestedV1 as the real NLP matcher sends it: the roster's e-mail copied into `student_email`. */
function suggestionsFor(
  batchId: string,
  classId: string,
  matches: Array<{ essay_id: string; student_id: string; name: string; email: string | null; score: number }>,
) {
  return envelope(TOPICS.authorMatchesSuggested, {
    batch_id: batchId,
    class_id: classId,
    course_code: 'SV1',
    match_results: matches.map((m) => ({
      essay_id: m.essay_id,
      text_storage_id: `storage-${m.essay_id}`,
      filename: '',
      suggestions: [
        {
          student_id: m.student_id,
          student_name: m.name,
          student_email: m.email,
          confidence_score: m.score,
          match_reasons: ['name in header'],
        },
      ],
      no_match_reason: null,
    })),
    processing_summary: { total_essays: matches.length },
  });
}

describe('rosters as the real HuleEdu services use them', () => {
  const h = harnessForSuite({ label: 'roster', validationTimeoutMs: 60_000 });
  let teacher: string;

  beforeAll(async () => {
    teacher = await h.teacher('teacher-roster');
  });

  async function swedishClass() {
    const created = await h.api('POST', '/v1/classes/', { token: teacher, body: { name: 'SV 9A', course_codes: ['SV1', 'SV2'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: created.body.class_id, name: 'SV 9A', course_code: 'SV1', course_codes: ['SV1', 'SV2'] });
    const classId = created.body.id as string;
    const students = [];
    for (const body of SWEDISH) {
      const added = await h.api('POST', '/v1/classes/students', { token: teacher, body: { ...body, class_ids: [classId] } });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({
        full_name: `${body.person_name.first_name} ${body.person_name.last_name}`,
        email: body.email ?? null,
        class_ids: [classId],
      });
      students.push({ id: added.body.id as string, ...body });
    }
    return { classId, students };
  }

  it('serves the NLP matcher the roster it parses, on the internal listener only, with Swedish e-mails and an empty last name', async () => {
    const { classId, students } = await swedishClass();
    const roster = await h.internalApi('GET', `/v1/classes/${classId}/roster`, { headers: { 'x-correlation-id': uuid() } });
    expect(roster.status).toBe(200);
    const byId = (id: string) => roster.body.students.find((s: { student_id: string }) => s.student_id === id);
    expect(roster.body.students).toHaveLength(4);
    const expected = [
      [0, { first_name: 'Emil', last_name: 'Zäll', full_legal_name: 'Emil Zäll Jernberg', email: 'emil.zäll.jernberg@test.edu' }],
      [1, { first_name: 'Anna', last_name: 'Höglund Öman', full_legal_name: 'Anna Höglund Öman', email: 'anna.höglund.öman@test.edu' }],
      [3, { first_name: 'Liam', last_name: '', full_legal_name: 'Liam', email: null }],
    ] as const;
    for (const [i, fields] of expected) expect(byId(students[i]!.id)).toEqual({ student_id: students[i]!.id, ...fields });
    expect((await h.internalApi('GET', `/v1/classes/${uuid()}/roster`)).status).toBe(404);
    expect((await h.internalApi('GET', '/v1/classes/not-a-uuid/roster')).status).toBe(400);
    expect((await h.api('GET', `/v1/classes/${classId}/roster`, { token: null })).status).toBe(401);
  });

  it('accepts suggestions whose student_email has ä and ö, confirms them, and answers the student names later phases ask for', async () => {
    const { classId, students } = await swedishClass();
    const batchId = await registerBatch(h, teacher, { course_code: 'SV2', class_id: classId, expected_essay_count: 2 });
    const list = essays(2);
    expect((await postEvent(h, provisioned(batchId, list, 'SV2'))).status).toBe(200);
    const event = suggestionsFor(batchId, classId, [
      { essay_id: list[0]!.essay_id, student_id: students[0]!.id, name: 'Emil Zäll', email: 'emil.zäll.jernberg@test.edu', score: 0.95 },
      { essay_id: list[1]!.essay_id, student_id: students[2]!.id, name: 'Deniz Özturk', email: 'deniz.özturk@test.edu', score: 0.4 },
    ]);
    (event.data as { course_code: string }).course_code = 'SV2';
    expect(wireProblems(event, 'inbound')).toEqual([]);
    const applied = await postEvent(h, event);
    expect(applied.status).toBe(200);
    expect(applied.body.status).toBe('awaiting_student_validation');
    // As in the real class service, a pending association already names its suggested student.
    const suggestedNames = await h.internalApi('GET', `/internal/v1/batches/${batchId}/student-names`);
    expect(suggestedNames.body.map((n: { student_id: string }) => n.student_id).sort()).toEqual([students[0]!.id, students[2]!.id].sort());

    const confirm = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: {
        associations: [
          { essay_id: list[0]!.essay_id, confirmed: true },
          { essay_id: list[1]!.essay_id, student_id: students[1]!.id, confirmed: true },
        ],
      },
    });
    expect(confirm.status).toBe(200);
    const names = await h.internalApi('GET', `/internal/v1/batches/${batchId}/student-names`);
    expect(names.status).toBe(200);
    expect(names.body).toHaveLength(2);
    expect(names.body).toContainEqual({
      essay_id: list[0]!.essay_id,
      student_id: students[0]!.id,
      student_person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' },
    });
    const one = await h.internalApi('GET', `/internal/v1/associations/essay/${list[1]!.essay_id}`);
    expect(one.body).toEqual({
      essay_id: list[1]!.essay_id,
      student_id: students[1]!.id,
      student_person_name: { first_name: 'Anna', last_name: 'Höglund Öman', legal_full_name: null },
    });
    expect((await h.internalApi('GET', `/internal/v1/associations/essay/${uuid()}`)).status).toBe(404);
  });

  it('names the UNKNOWN student to later phases and lists it on the roster once a deadline created it', async () => {
    const { classId } = await swedishClass();
    const batchId = await registerBatch(h, teacher, { course_code: 'SV1', class_id: classId, expected_essay_count: 1 });
    const list = essays(1);
    await postEvent(h, provisioned(batchId, list, 'SV1'));
    const none = envelope(TOPICS.authorMatchesSuggested, {
      batch_id: batchId,
      class_id: classId,
      course_code: 'SV1',
      match_results: [
        {
          essay_id: list[0]!.essay_id,
          text_storage_id: list[0]!.text_storage_id,
          filename: '',
          suggestions: [],
          no_match_reason: 'no name found',
        },
      ],
    });
    expect((await postEvent(h, none)).status).toBe(200);
    await h.database.db.execute(sql`UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE batch_id = ${batchId}`);
    await createSweep(h.service, { intervalMs: 1_000_000 }).runOnce();
    const names = await eventually(async () => {
      const r = await h.internalApi('GET', `/internal/v1/batches/${batchId}/student-names`);
      return r.body.length === 1 ? r.body : null;
    });
    expect(names[0].student_person_name).toEqual({ first_name: 'UNKNOWN', last_name: 'STUDENT', legal_full_name: null });
    const roster = await h.internalApi('GET', `/v1/classes/${classId}/roster`);
    expect(roster.body.students).toContainEqual({
      student_id: names[0].student_id,
      first_name: 'UNKNOWN',
      last_name: 'STUDENT',
      full_legal_name: 'UNKNOWN STUDENT',
      email: `unknown.${classId}@huleedu.system`,
    });
  });

  it('tells the teacher of each class and student created, in the real notification shape, partitioned by class', async () => {
    const { classId, students } = await swedishClass();
    const mine = (await outboxEvents(h, TOPICS.teacherNotification)).filter((e) => e.envelope.data.class_id === classId);
    expect(mine.map((e) => e.envelope.data.notification_type)).toEqual(['class_created', ...SWEDISH.map(() => 'student_added_to_class')]);
    for (const e of mine) {
      expect(wireProblems(e.envelope, 'outbound')).toEqual([]);
      expect(e.batch_id).toBeNull();
      expect(e.envelope.metadata).toEqual({ user_id: 'teacher-roster', class_id: classId, partition_key: classId });
    }
    expect(mine[0]!.envelope.data).toMatchObject({
      teacher_id: 'teacher-roster',
      category: 'class_management',
      priority: 'standard',
      payload: {
        class_id: classId,
        class_designation: 'SV 9A',
        course_codes: ['SV1', 'SV2'],
        message: "Class 'SV 9A' created successfully",
      },
    });
    expect(mine[1]!.envelope.data).toMatchObject({
      priority: 'low',
      payload: {
        student_id: students[0]!.id,
        student_name: 'Emil Zäll',
        class_id: classId,
        class_designation: 'SV 9A',
        message: "Student 'Emil Zäll' added to class 'SV 9A'",
      },
    });
  });

  it('learns classes and students from the real class service events and accepts suggestions naming them', async () => {
    const cmsTeacher = 'teacher-cms';
    const token = await h.teacher(cmsTeacher);
    const [classA, classB, studentId] = [uuid(), uuid(), uuid()];
    const classCreated = (id: string) => classCreatedByClassService(id, `CMS ${id.slice(0, 4)}`, ['ENG5'], cmsTeacher);
    const studentCreated = studentCreatedByClassService(studentId, [classA, classB], cmsTeacher);
    for (const e of [classCreated(classA), classCreated(classB), studentCreated]) expect(wireProblems(e, 'inbound')).toEqual([]);

    const before = await rowCounts(h);
    const early = await postEvent(h, studentCreated);
    expect(early.status).toBe(404);
    expect(await rowCounts(h)).toEqual(before);

    expect((await postEvent(h, classCreated(classA))).status).toBe(200);
    expect((await postEvent(h, classCreated(classB))).status).toBe(200);
    const applied = await postEvent(h, studentCreated);
    expect(applied.body).toEqual({
      event_id: studentCreated.event_id,
      event_type: TOPICS.studentCreated,
      class_id: classA,
      student_id: studentId,
      duplicate: false,
    });
    expect((await postEvent(h, studentCreated)).body.duplicate).toBe(true);
    expect((await postEvent(h, { ...studentCreated, data: { ...studentCreated.data, first_name: 'Other' } })).status).toBe(422);

    for (const classId of [classA, classB]) {
      const roster = await h.internalApi('GET', `/v1/classes/${classId}/roster`);
      expect(roster.body.students).toEqual([
        { student_id: studentId, first_name: 'Åsa', last_name: 'Öberg', full_legal_name: 'Åsa Öberg', email: 'åsa.öberg@test.edu' },
      ]);
    }

    const batchId = await registerBatch(h, token, { course_code: 'ENG5', class_id: classB, expected_essay_count: 1 });
    const list = essays(1);
    await postEvent(h, provisioned(batchId, list));
    const suggestions = suggestionsFor(batchId, classB, [
      { essay_id: list[0]!.essay_id, student_id: studentId, name: 'Åsa Öberg', email: 'åsa.öberg@test.edu', score: 0.9 },
    ]);
    (suggestions.data as { course_code: string }).course_code = 'ENG5';
    expect((await postEvent(h, suggestions)).status).toBe(200);

    const moved = envelope(TOPICS.studentUpdated, {
      student_id: studentId,
      first_name: 'Åsa',
      last_name: 'Öberg-Lind',
      student_email: null,
      add_class_ids: null,
      remove_class_ids: [classA],
      updated_by_user_id: cmsTeacher,
    });
    expect((await postEvent(h, moved)).status).toBe(200);
    expect((await h.internalApi('GET', `/v1/classes/${classA}/roster`)).body.students).toEqual([]);
    expect((await h.internalApi('GET', `/v1/classes/${classB}/roster`)).body.students[0]).toMatchObject({
      last_name: 'Öberg-Lind',
      email: null,
    });
    const renamed = envelope(TOPICS.classUpdated, {
      class_id: classB,
      class_designation: 'CMS renamed',
      course_codes: ['ENG5', 'ENG6'],
      user_id: cmsTeacher,
    });
    expect((await postEvent(h, renamed)).status).toBe(200);
    expect((await h.api('GET', `/v1/classes/${classB}`, { token })).body).toMatchObject({
      name: 'CMS renamed',
      course_codes: ['ENG5', 'ENG6'],
      student_count: 1,
    });
  });

  it("lets a student be in several classes and a batch be of any of its class's courses", async () => {
    const first = await h.api('POST', '/v1/classes', { token: teacher, body: { name: 'A', course_code: 'ENG6' } });
    const second = await h.api('POST', '/v1/classes', { token: teacher, body: { name: 'B', course_codes: ['ENG7', 'ENG6'] } });
    const both = await h.api('POST', '/v1/classes/students', {
      token: teacher,
      body: {
        person_name: { first_name: 'Ida', last_name: 'Ek' },
        class_ids: [first.body.id, second.body.id],
        confirmation: 'ignored like pydantic',
      },
    });
    expect(both.status).toBe(201);
    const got = await h.api('GET', `/v1/classes/students/${both.body.id}`, { token: teacher });
    expect(got.body).toMatchObject({ first_name: 'Ida', last_name: 'Ek', email: null });
    expect([...got.body.class_ids].sort()).toEqual([first.body.id, second.body.id].sort());
    expect((await h.api('GET', `/v1/classes/students/${both.body.id}`, { token: await h.teacher('someone-else') })).status).toBe(404);
    expect(
      (
        await h.api('POST', '/v1/batches', {
          token: teacher,
          body: { course_code: 'ENG6', class_id: second.body.id, expected_essay_count: 1 },
        })
      ).status,
    ).toBe(201);
    const wrong = await h.api('POST', '/v1/batches', {
      token: teacher,
      body: { course_code: 'SV1', class_id: second.body.id, expected_essay_count: 1 },
    });
    expect(wrong.status).toBe(400);
    const legacy = await h.api('POST', `/v1/classes/${first.body.id}/students`, {
      token: teacher,
      body: {
        students: [
          { first_name: 'Zoë', last_name: '', email: 'zoë.ångström@test.edu' },
          { first_name: 'Noel', last_name: 'Nilsson' },
        ],
      },
    });
    expect(legacy.status).toBe(201);
    expect(legacy.body.students.map((s: { email: string | null }) => s.email)).toEqual(['zoë.ångström@test.edu', null]);
  });

  it('migrates classes and students written before memberships (the SQL migration): members, courses, creators', async () => {
    const klass = await createClassWithStudents(h, teacher, 'ENG7', 2);
    // As an older release left them: no membership rows, no course list, no creator.
    await h.database.db.execute(sql`DELETE FROM class_students WHERE class_id = ${klass.classId}`);
    await h.database.db.execute(sql`UPDATE classes SET course_codes = '{}' WHERE id = ${klass.classId}`);
    await h.database.db.execute(sql`UPDATE students SET created_by_user_id = NULL WHERE class_id = ${klass.classId}`);
    expect((await h.internalApi('GET', `/v1/classes/${klass.classId}/roster`)).body.students).toEqual([]);
    const migration = readFileSync(new URL('../../drizzle/0007_roster_memberships_data.sql', import.meta.url), 'utf8');
    for (const statement of migration.split('--> statement-breakpoint')) await h.database.db.execute(sql.raw(statement));
    const roster = await h.internalApi('GET', `/v1/classes/${klass.classId}/roster`);
    expect(roster.body.students.map((s: { student_id: string }) => s.student_id).sort()).toEqual(
      klass.students.map((s) => s.student_id).sort(),
    );
    const [row] = await rows<{ course_codes: string[]; creators: string[] }>(
      h.database.db,
      sql`SELECT c.course_codes, array_agg(DISTINCT s.created_by_user_id) AS creators FROM classes c JOIN students s ON s.class_id = c.id WHERE c.id = ${klass.classId} GROUP BY c.id`,
    );
    expect(row).toEqual({ course_codes: ['ENG7'], creators: ['teacher-roster'] });
  });

  it('answers hostile or malformed roster requests with 4xx problem+json and changes nothing', async () => {
    const { classId, students } = await swedishClass();
    const before = await rowCounts(h);
    const cases: Array<[number, string, string, unknown]> = [
      [400, 'POST', '/v1/classes/', { name: 'x', course_codes: [] }],
      [400, 'POST', '/v1/classes/', { name: 'x', course_codes: ['ENG5', 'ENG5'] }],
      [400, 'POST', '/v1/classes/', { name: 'x', course_code: 'ENG5', course_codes: ['ENG5'] }],
      [400, 'POST', '/v1/classes/students', { person_name: { first_name: '', last_name: 'x' }, class_ids: [classId] }],
      [
        400,
        'POST',
        '/v1/classes/students',
        { person_name: { first_name: 'a', last_name: 'b' }, email: 'not an e-mail', class_ids: [classId] },
      ],
      [
        400,
        'POST',
        '/v1/classes/students',
        { person_name: { first_name: 'a', last_name: 'b' }, email: 'a\u0000b@test.edu', class_ids: [classId] },
      ],
      [400, 'POST', '/v1/classes/students', { person_name: 'Emil', class_ids: [classId] }],
      [400, 'POST', '/v1/classes/students', { person_name: { first_name: 'a', last_name: 'b' }, class_ids: ['not-a-uuid'] }],
      [404, 'POST', '/v1/classes/students', { person_name: { first_name: 'a', last_name: 'b' }, class_ids: [uuid()] }],
      [
        409,
        'POST',
        '/v1/classes/students',
        { person_name: { first_name: 'a', last_name: 'b' }, email: 'EMIL.ZÄLL.JERNBERG@test.edu', class_ids: [classId] },
      ],
      [400, 'PUT', `/v1/classes/students/${students[0]!.id}`, { email: 12 }],
      [404, 'PUT', `/v1/classes/students/${students[0]!.id}`, { add_class_ids: [uuid()] }],
      [409, 'PUT', `/v1/classes/students/${students[1]!.id}`, { email: 'emil.zäll.jernberg@test.edu' }],
      [400, 'GET', '/v1/classes/students/nope', undefined],
      [404, 'GET', `/v1/classes/students/${uuid()}`, undefined],
      [400, 'PUT', `/v1/classes/${classId}`, { course_codes: ['ENG9'] }],
      [404, 'GET', `/v1/classes/${uuid()}`, undefined],
    ];
    for (const [status, method, path, body] of cases) {
      const res = await h.api(method, path, { token: teacher, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const badEvent = envelope(TOPICS.studentCreated, {
      student_id: uuid(),
      first_name: 'a',
      last_name: 'b',
      student_email: 'a b@x.se',
      class_ids: [classId],
      created_by_user_id: 't',
    });
    expect((await postEvent(h, badEvent)).status).toBe(400);
    const takenEmail = envelope(TOPICS.studentCreated, {
      student_id: uuid(),
      first_name: 'a',
      last_name: 'b',
      student_email: 'deniz.özturk@test.edu',
      class_ids: [classId],
      created_by_user_id: 't',
    });
    expect((await postEvent(h, takenEmail)).status).toBe(409);
    expect(await rowCounts(h)).toEqual(before);
    const [members] = await rows<{ n: number }>(
      h.database.db,
      sql`SELECT count(*)::int AS n FROM class_students WHERE class_id = ${classId}`,
    );
    expect(members!.n).toBe(4);
  });
});
