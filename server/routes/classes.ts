import { Hono } from 'hono';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller, teacherId } from '../auth.ts';
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

export function classRoutes(service: Service) {
  return new Hono<AuthEnv>()
    .use('/v1/classes', requireCaller('teacher'))
    .use('/v1/classes/*', requireCaller('teacher'))
    .post('/v1/classes', async (c) => {
      const body = await parseJsonBody(c, CreateClassBody);
      if (!body.ok) return body.response;
      const created = await service.createClass(teacherId(c), body.data);
      return c.json(
        { class_id: created.id, name: created.name, course_code: created.course_code, created_at: new Date(created.created_at).toISOString() },
        201,
      );
    })
    .post('/v1/classes/:class_id/students', async (c) => {
      const params = parseValue(c, ClassParams, c.req.param(), 'params');
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, AddStudentsBody);
      if (!body.ok) return body.response;
      const outcome = await service.addStudents(teacherId(c), params.data.class_id, body.data.students);
      if (outcome.kind === 'not_found') return notFound(c, `Class ${params.data.class_id}`);
      if (outcome.kind === 'conflict') return problem(c, { status: 409, title: 'Conflict', detail: outcome.detail });
      return c.json({ class_id: params.data.class_id, students: outcome.students.map(studentView) }, 201);
    })
    .get('/v1/classes/:class_id/students', async (c) => {
      const params = parseValue(c, ClassParams, c.req.param(), 'params');
      if (!params.ok) return params.response;
      const roster = await service.listStudents(teacherId(c), params.data.class_id);
      if (!roster) return notFound(c, `Class ${params.data.class_id}`);
      return c.json({ class_id: params.data.class_id, students: roster.map(studentView) });
    });
}
