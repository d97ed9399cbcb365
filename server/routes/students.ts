import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, teacherId, teachersOnly } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody, teacherRead, teacherWrite } from '../documented.ts';
import { bodyErrors, callerErrors, problems } from '../openapi-problems.ts';
import { EXAMPLE, StudentDetail } from '../openapi-schemas.ts';
import { notFound, problem } from '../problem.ts';
import { CreateStudentBody, StudentParams, UpdateStudentBody } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';

/** The real class service's student routes (`api/student_routes.py`), behind the gateway's `/v1/classes/{path}` proxy. */

const tags = ['Classes'];

const studentDetail = (
  s: { id: string; first_name: string; last_name: string; legal_full_name: string | null; email: string | null },
  classIds: string[],
) => ({
  id: s.id,
  full_name: `${s.first_name} ${s.last_name}`,
  first_name: s.first_name,
  last_name: s.last_name,
  person_name: { first_name: s.first_name, last_name: s.last_name, legal_full_name: s.legal_full_name },
  email: s.email,
  class_ids: classIds,
});

const createStudentRoute = createRoute({
  method: 'post',
  path: '/v1/classes/students',
  tags,
  summary: "Create a student in any of the caller's classes",
  description:
    "The real CreateStudentRequest: `person_name` (PersonNameV1: a last name may be empty), an optional e-mail (non-ASCII allowed), and the classes to add the student to. A class that is not the caller's answers 404; an e-mail already in one of the classes 409. A `student_added_to_class` notification is written for the first class.",
  security: asTeacher,
  request: {
    body: jsonBody(CreateStudentBody, {
      person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' },
      email: 'emil.zäll.jernberg@test.edu',
      class_ids: [EXAMPLE.classId],
    }),
  },
  responses: {
    201: answer('Created (`id` and `full_name`, as the real one answers, and the rest of the student).', StudentDetail),
    ...problems([...bodyErrors, 404, 409]),
  },
});

const getStudentRoute = teacherRead('/v1/classes/students/{student_id}', StudentParams, answer('The student.', StudentDetail), {
  tags,
  summary: 'A student of the caller',
  description: "A student the caller created or that is in one of the caller's classes, with its classes.",
});

const updateStudentRoute = teacherWrite(
  'put',
  '/v1/classes/students/{student_id}',
  { 200: answer('The student as it is now.', StudentDetail) },
  [404, 409],
  {
    tags,
    summary: 'Rename a student, change its e-mail or classes',
    description:
      "The real UpdateStudentRequest: `person_name`, `email`, `add_class_ids`, `remove_class_ids`, each optional; the classes must be the caller's.",
    request: { params: StudentParams, body: jsonBody(UpdateStudentBody, { add_class_ids: [EXAMPLE.classId] }) },
  },
);

export function studentRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  teachersOnly(app, '/v1/classes/students');
  documented(app, createStudentRoute, async (c) => {
    const body = await parseJsonBody(c, CreateStudentBody);
    if (!body.ok) return body.response;
    const outcome = await service.createStudent(teacherId(c), body.data);
    if (outcome.kind === 'not_found') return notFound(c, `Class ${outcome.class_ids.join(', ')}`);
    if (outcome.kind === 'conflict') return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
    return c.json(studentDetail(outcome.students[0]!, [...new Set(body.data.class_ids ?? [])]), 201);
  });
  const params = (c: Context<AuthEnv>) => parseValue(c, StudentParams, c.req.param(), 'params');
  documented(app, getStudentRoute, async (c) => {
    const p = params(c);
    if (!p.ok) return p.response;
    const found = await service.getStudent(teacherId(c), p.data.student_id);
    if (!found) return notFound(c, `Student ${p.data.student_id}`);
    return c.json(studentDetail(found.student, found.class_ids));
  });
  documented(app, updateStudentRoute, async (c) => {
    const p = params(c);
    if (!p.ok) return p.response;
    const body = await parseJsonBody(c, UpdateStudentBody);
    if (!body.ok) return body.response;
    const outcome = await service.updateStudent(teacherId(c), p.data.student_id, body.data);
    if (outcome.kind === 'not_found') return notFound(c, `Student ${p.data.student_id}`);
    if (outcome.kind === 'class_not_found') return notFound(c, `Class ${outcome.class_ids.join(', ')}`);
    if (outcome.kind === 'conflict') return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
    return c.json(studentDetail(outcome.student, outcome.class_ids));
  });
  return app;
}
