import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { WEEKDAYS } from '../../machines/school-calendar.ts';
import { type AuthEnv, teacherId } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody } from '../documented.ts';
import { bodyErrors, callerErrors, problems } from '../openapi-problems.ts';
import { notFound, validationProblem } from '../problem.ts';
import { ClassParams } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

/** A class's school calendar: its time zone, school week, opening hours and closed days. */
export const CalendarBody = z
  .strictObject({
    time_zone: z.string().trim().min(1).max(64).openapi({ description: 'An IANA time zone.', example: 'Europe/Stockholm' }),
    school_days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
    opens: hhmm,
    closes: hhmm,
    closed: z
      .array(z.strictObject({ from: day, to: day.optional(), name: z.string().trim().min(1).max(100).optional() }))
      .max(500)
      .default([])
      .openapi({ description: 'Holidays and breaks: one day (`from`) or an inclusive range (`from`, `to`).' }),
  })
  .openapi('SchoolCalendar');

const rule = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('elapsed'), ms: z.number().int() }),
    z.strictObject({ kind: z.literal('school_days'), days: z.number().int() }),
  ])
  .openapi('DeadlineRule', {
    description:
      'How validation deadlines count (VALIDATION_DEADLINE): wall-clock time after the suggestions, or the same local time that many school days later, within opening hours.',
  });

const CalendarView = z
  .strictObject({
    class_id: z.uuid(),
    source: z.enum(['class', 'service']).openapi({ description: "`class`: the class's own; `service`: the service's (SCHOOL_*)." }),
    calendar: CalendarBody,
    rule,
  })
  .openapi('ClassCalendar');

const CalendarChanged = z
  .strictObject({
    class_id: z.uuid(),
    calendar: CalendarBody,
    moved: z.array(z.strictObject({ batch_id: z.uuid(), from_due_at: z.string(), to_due_at: z.string() })),
    kept: z.array(z.strictObject({ batch_id: z.uuid(), due_at: z.string(), why: z.string() })),
  })
  .openapi('CalendarChanged');

const tags = ['Classes'];
const example = {
  time_zone: 'Europe/Stockholm',
  school_days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  opens: '08:00',
  closes: '16:00',
  closed: [{ from: '2026-10-26', to: '2026-10-30', name: 'Höstlov' }, { from: '2026-12-24' }],
};

const getRoute = createRoute({
  method: 'get',
  path: '/v1/classes/{class_id}/calendar',
  tags,
  summary: "A class's school calendar",
  description: "The class's own calendar, or the service's when it has none, and the rule validation deadlines count by.",
  security: asTeacher,
  request: { params: ClassParams },
  responses: {
    200: answer('The calendar.', CalendarView, {
      class_id: '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b',
      source: 'class',
      calendar: example,
      rule: { kind: 'school_days', days: 1 },
    }),
    ...problems([400, ...callerErrors, 404]),
  },
});

const putRoute = createRoute({
  method: 'put',
  path: '/v1/classes/{class_id}/calendar',
  tags,
  summary: "Set a class's school calendar",
  description:
    "Sets the class's own calendar. With `VALIDATION_DEADLINE=school-days`, each pending validation deadline of the class's batches that the calendar set is counted again and moved (a DEADLINE_CHANGED in the batch's history, under the caller's name); a deadline a teacher moved, or whose new time has passed, is kept. The answer lists both. Sending the same calendar again changes nothing.",
  security: asTeacher,
  request: { params: ClassParams, body: jsonBody(CalendarBody, example) },
  responses: {
    200: answer('Set; pending deadlines moved or kept.', CalendarChanged, {
      class_id: '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b',
      calendar: example,
      moved: [
        {
          batch_id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
          from_due_at: '2026-10-26T14:05:00.000Z',
          to_due_at: '2026-11-02T14:05:00.000Z',
        },
      ],
      kept: [],
    }),
    ...problems([...bodyErrors, 404]),
  },
});

/** A class's school calendar: read it, set it (moving the deadlines it governs). */
export function calendarRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, getRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const found = await service.classCalendar(teacherId(c), params.data.class_id);
    return found ? c.json(found) : notFound(c, `Class ${params.data.class_id}`);
  });
  documented(app, putRoute, async (c) => {
    const params = parseValue(c, ClassParams, c.req.param(), 'params');
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, CalendarBody);
    if (!body.ok) return body.response;
    const change = await service.changeClassCalendar(teacherId(c), params.data.class_id, body.data);
    if (change.kind === 'not_found') return notFound(c, `Class ${params.data.class_id}`);
    if (change.kind === 'invalid') return validationProblem(c, change.errors);
    const shown = await service.classCalendar(teacherId(c), params.data.class_id);
    return c.json({ class_id: params.data.class_id, calendar: shown!.calendar, moved: change.moved, kept: change.kept });
  });
  return app;
}
