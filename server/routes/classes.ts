import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller, teacherId } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody } from '../documented.ts';
import { bodyErrors, callerErrors, problems } from '../openapi-problems.ts';
import { ClassView, Roster } from '../openapi-schemas.ts';
import { ClassList } from './class-list.ts';
import { CreateIdempotencyHeaders, keyedCall, keyedResult } from '../idempotency-key.ts';
import { notFound, problem } from '../problem.ts';
import { AddStudentsBody, ClassParams, CreateClassBody } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';

const studentView = (s: { id: string; first_name: string; last_name: string; email: string; is_unknown: boolean }) => ({
  student_id: s.id,
  first_name: s.first_name,
  last_name: s.last_name,
  email: s.email,
  is_unknown: s.is_unknown,
});

const tags = ['Classes'];

const createClassRoute = createRoute({
  method: 'post',
  path: '/v1/classes',
  tags,
  summary: 'Create a class',
  description: 'The class belongs to the calling teacher.',
  security: asTeacher,
  request: { headers: CreateIdempotencyHeaders, body: jsonBody(CreateClassBody, { name: 'ENG5 Tuesday group', course_code: 'ENG5' }) },
  responses: {
    201: answer('Created.', ClassView),
    ...problems([...bodyErrors, 422]),
  },
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
  description: 'E-mails are unique within a class; one already there answers 409 and adds none.',
  security: asTeacher,
  request: {
    params: ClassParams,
    headers: CreateIdempotencyHeaders,
    body: jsonBody(AddStudentsBody, { students: [{ first_name: 'Astrid', last_name: 'Lindqvist', email: 'astrid@school.example' }] }),
  },
  responses: {
    201: answer('The students added, with their ids.', Roster),
    ...problems([...bodyErrors, 404, 409, 422]),
  },
});

const rosterRoute = createRoute({
  method: 'get',
  path: '/v1/classes/{class_id}/students',
  tags,
  summary: "A class's roster",
  description: "Includes the class's UNKNOWN student (`is_unknown: true`) once a deadline has linked an essay to it.",
  security: asTeacher,
  request: { params: ClassParams },
  responses: {
    200: answer('The roster, by last name.', Roster),
    ...problems([400, ...callerErrors, 404]),
  },
});

export function classRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  app.use('/v1/classes', requireCaller('teacher'));
  app.use('/v1/classes/*', requireCaller('teacher'));
  documented(app, createClassRoute, async (c) => {
    const body = await parseJsonBody(c, CreateClassBody);
    if (!body.ok) return body.response;
    const call = keyedCall(c, 'create-class', '', body.data);
    if (!call.ok) return call.response;
    const keyed = keyedResult(c, await service.createClassOnce(call.data, teacherId(c), body.data));
    if (!keyed.ok) return keyed.response;
    const created = keyed.result;
    return c.json(
      { class_id: created.id, name: created.name, course_code: created.course_code, created_at: new Date(created.created_at).toISOString() },
      201,
    );
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
