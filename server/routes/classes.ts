import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, teacherId, teachersOnly } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody, teacherRead, teacherWrite } from '../documented.ts';
import { bodyErrors, callerErrors, problems } from '../openapi-problems.ts';
import { ClassDetail, ClassView, Roster } from '../openapi-schemas.ts';
import { ClassList } from './class-list.ts';
import { CreateIdempotencyHeaders, keyedCall, keyedResult } from '../idempotency-key.ts';
import { notFound, problem } from '../problem.ts';
import { AddStudentsBody, ClassParams, CreateClassBody, UpdateClassBody } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';

const studentView = (s: {
  id: string;
  first_name: string;
  last_name: string;
  legal_full_name: string | null;
  email: string | null;
  is_unknown: boolean;
}) => ({
  student_id: s.id,
  first_name: s.first_name,
  last_name: s.last_name,
  legal_full_name: s.legal_full_name,
  email: s.email,
  is_unknown: s.is_unknown,
});

const classView = (c: { id: string; name: string; course_code: string; course_codes: string[]; created_at: string }) => ({
  class_id: c.id,
  id: c.id,
  name: c.name,
  course_code: c.course_code,
  course_codes: c.course_codes.length > 0 ? c.course_codes : [c.course_code],
  created_at: new Date(c.created_at).toISOString(),
});

const tags = ['Classes'];

const createClassRoute = (path: string, summary: string) =>
  createRoute({
    method: 'post',
    path,
    tags,
    summary,
    description:
      'The class belongs to the calling teacher. Takes `{name, course_code}` or, as the real class service (CreateClassRequest), `{name, course_codes: [...]}`; a batch of the class may be of any of its courses. A `class_created` teacher notification is written with it.',
    security: asTeacher,
    request: {
      headers: CreateIdempotencyHeaders,
      body: jsonBody(CreateClassBody, { name: 'ENG5 Tuesday group', course_codes: ['ENG5', 'ENG6'] }),
    },
    responses: {
      201: answer('Created.', ClassView),
      ...problems([...bodyErrors, 422]),
    },
  });

const getClassRoute = teacherRead('/v1/classes/{class_id}', ClassParams, answer('The class.', ClassDetail), {
  tags,
  summary: 'A class of the caller',
  description: 'As the real class service answers it (`id`, `name`, `course_code`), with every course and the number of students.',
});

const updateClassRoute = teacherWrite('put', '/v1/classes/{class_id}', { 200: answer('The class as it is now.', ClassDetail) }, [404], {
  tags,
  summary: 'Rename a class or change its courses',
  description: 'The real UpdateClassRequest: `name` and `course_codes`, each optional.',
  request: { params: ClassParams, body: jsonBody(UpdateClassBody, { name: 'ENG5 Thursday group' }) },
});

const listClassesRoute = createRoute({
  method: 'get',
  path: '/v1/classes',
  tags,
  summary: "The caller's classes",
  description: 'By name, at most 1000, each with its number of students (the UNKNOWN student not counted).',
  security: asTeacher,
  responses: {
    200: answer("The caller's classes.", ClassList),
    ...problems([400, ...callerErrors]),
  },
});

const addStudentsRoute = createRoute({
  method: 'post',
  path: '/v1/classes/{class_id}/students',
  tags,
  summary: 'Add students to a class',
  description:
    'E-mails are optional and unique within a class (one already there answers 409 and adds none); they may hold non-ASCII characters (`emil.zäll.jernberg@test.edu`). A last name may be empty. Each student added is told to the teacher as a `student_added_to_class` notification.',
  security: asTeacher,
  request: {
    params: ClassParams,
    headers: CreateIdempotencyHeaders,
    body: jsonBody(AddStudentsBody, {
      students: [
        { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg', email: 'emil.zäll.jernberg@test.edu' },
        { first_name: 'Liam', last_name: '' },
      ],
    }),
  },
  responses: {
    201: answer('The students added, with their ids.', Roster),
    ...problems([...bodyErrors, 404, 409, 422]),
  },
});

const rosterRoute = teacherRead('/v1/classes/{class_id}/students', ClassParams, answer('The roster, by last name.', Roster), {
  tags,
  summary: "A class's roster",
  description: "Includes the class's UNKNOWN student (`is_unknown: true`) once a deadline has linked an essay to it.",
});

export function classRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  teachersOnly(app, '/v1/classes');
  const create = async (c: Context<AuthEnv>) => {
    const body = await parseJsonBody(c, CreateClassBody);
    if (!body.ok) return body.response;
    const { name, course_code, course_codes } = body.data;
    // One key for both paths of the same request: the route path is not part of what was asked.
    const call = keyedCall(c, 'create-class', '', body.data);
    if (!call.ok) return call.response;
    const keyed = keyedResult(
      c,
      await service.createClassOnce(call.data, teacherId(c), { name, course_codes: course_codes ?? [course_code!] }),
    );
    if (!keyed.ok) return keyed.response;
    return c.json(classView(keyed.result), 201);
  };
  documented(app, createClassRoute('/v1/classes', 'Create a class'), create);
  documented(app, createClassRoute('/v1/classes/', "Create a class (the real class service's path)"), create);
  documented(app, getClassRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const found = await service.getClass(teacherId(c), params.data.class_id);
    if (!found) return notFound(c, `Class ${params.data.class_id}`);
    return c.json({ ...classView(found.klass), student_count: found.members.filter((m) => !m.is_unknown).length });
  });
  documented(app, updateClassRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, UpdateClassBody);
    if (!body.ok) return body.response;
    const change = { name: body.data.name ?? undefined, course_codes: body.data.course_codes ?? undefined };
    if (!(await service.updateClass(teacherId(c), params.data.class_id, change))) return notFound(c, `Class ${params.data.class_id}`);
    const found = (await service.getClass(teacherId(c), params.data.class_id))!;
    return c.json({ ...classView(found.klass), student_count: found.members.filter((m) => !m.is_unknown).length });
  });
  documented(app, listClassesRoute, async (c) => c.json({ classes: await service.listClasses(teacherId(c)) }));
  documented(app, addStudentsRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, AddStudentsBody);
    if (!body.ok) return body.response;
    const call = keyedCall(c, 'add-students', params.data.class_id, body.data);
    if (!call.ok) return call.response;
    const keyed = keyedResult(c, await service.addStudentsOnce(call.data, teacherId(c), params.data.class_id, body.data.students));
    if (!keyed.ok) return keyed.response;
    const outcome = keyed.result;
    if (outcome.kind === 'not_found') return notFound(c, `Class ${params.data.class_id}`);
    if (outcome.kind === 'conflict') return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
    return c.json({ class_id: params.data.class_id, students: outcome.students.map(studentView) }, 201);
  });
  documented(app, rosterRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const roster = await service.listStudents(teacherId(c), params.data.class_id);
    if (!roster) return notFound(c, `Class ${params.data.class_id}`);
    return c.json({ class_id: params.data.class_id, students: roster.map(studentView) });
  });
  return app;
}
