import { type BadRequest, type BadRequestFixture, serviceTokenRefused, TWO_MIB, emptySubJwt, noSubJwt } from './support.ts';

/** The teacher's class routes: creating a class, adding students, the roster. */
export function classRequests(fx: BadRequestFixture): BadRequest[] {
  const { h } = fx;
  return [
    {
      name: 'create class: an unknown course_code',
      status: 400,
      paths: ['course_code'],
      send: () => h.api('POST', '/v1/classes', { ...fx.asA(), body: { name: 'Class', course_code: 'ENG9' } }),
    },
    {
      name: 'create class: name as a number',
      status: 400,
      paths: ['name'],
      send: () => h.api('POST', '/v1/classes', { ...fx.asA(), body: { name: 12, course_code: 'ENG5' } }),
    },
    {
      name: 'create class: an unknown field',
      status: 400,
      names: 'teacher_id',
      send: () => h.api('POST', '/v1/classes', { ...fx.asA(), body: { name: 'Class', course_code: 'ENG5', teacher_id: 'teacher-b' } }),
    },
    {
      name: 'create class: a 2 MiB body',
      status: 413,
      send: () => h.api('POST', '/v1/classes', { ...fx.asA(), body: { name: 'x'.repeat(TWO_MIB), course_code: 'ENG5' } }),
    },
    {
      name: 'create class: text/plain',
      status: 415,
      send: () =>
        h.api('POST', '/v1/classes', {
          ...fx.asA(),
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
      send: async () => h.api('POST', '/v1/classes', { token: await emptySubJwt(h), body: { name: 'Class', course_code: 'ENG5' } }),
    },
    {
      name: 'create class: a JWT without sub',
      status: 401,
      send: async () => h.api('POST', '/v1/classes', { token: await noSubJwt(h), body: { name: 'Class', course_code: 'ENG5' } }),
    },
    serviceTokenRefused('create class', () => h.api('POST', '/v1/classes', { body: { name: 'Class', course_code: 'ENG5' } })),
    {
      name: 'add students: an unknown field on a student',
      status: 400,
      names: 'grade',
      send: () =>
        h.api('POST', `/v1/classes/${fx.klassA.classId}/students`, {
          ...fx.asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'new.student@school.example', grade: 'A' }] },
        }),
    },
    {
      name: 'add students: an email that is not one',
      status: 400,
      paths: ['students.0.email'],
      send: () =>
        h.api('POST', `/v1/classes/${fx.klassA.classId}/students`, {
          ...fx.asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'not-an-email' }] },
        }),
    },
    {
      name: 'add students: a non-UUID class id in the path',
      status: 400,
      paths: [/(^|\.)class_id$/],
      send: () =>
        h.api('POST', '/v1/classes/class-1/students', {
          ...fx.asA(),
          body: { students: [{ first_name: 'New', last_name: 'Student', email: 'new.student@school.example' }] },
        }),
    },
    {
      name: 'roster: a non-UUID class id in the path',
      status: 400,
      paths: [/(^|\.)class_id$/],
      send: () => h.api('GET', '/v1/classes/class-1/students', fx.asA()),
    },
  ];
}
