import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented, jsonBody } from '../documented.ts';
import { ClassPauseAnswer, EXAMPLE } from '../openapi-schemas.ts';
import { bodyErrors, problems } from '../openapi-problems.ts';
import { notFound, validationProblem } from '../problem.ts';
import { ClassParams, ClassPauseBody, ClassResumeBody } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';

/** An operator's route on one class's validations: POST by the service, with a JSON body; 404 for an unknown class. */
const classValidationRoute = (route: {
  action: 'pause' | 'resume';
  summary: string;
  description: string;
  body: ReturnType<typeof jsonBody>;
  ok: Record<200, ReturnType<typeof answer>>;
}) =>
  createRoute({
    method: 'post',
    path: `/v1/operations/classes/{class_id}/validation/${route.action}`,
    tags: ['Operations'],
    summary: route.summary,
    description: route.description,
    security: asService,
    request: { params: ClassParams, body: route.body },
    responses: { ...route.ok, ...problems([...bodyErrors, 404]) },
  });

const pauseRoute = classValidationRoute({
  action: 'pause',
  summary: 'Pause every pending validation of a class',
  description:
    'For operators (a school closed by a storm, a teacher on leave): each batch of the class awaiting the teacher is paused as by its teacher (one VALIDATION_PAUSED per batch, in its own history, by `operator:<operator>`), until `until` (never in the past: 400) or until resumed. A batch already paused, or whose deadline is already due, is kept and says why. 404 for an unknown class.',
  body: jsonBody(ClassPauseBody, { operator: 'ops-anna', until: '2026-12-14T07:00:00.000Z', reason: 'School closed by the storm' }),
  ok: { 200: answer('Paused where it could be.', ClassPauseAnswer) },
});

const resumeRoute = classValidationRoute({
  action: 'resume',
  summary: 'Resume every paused validation of a class',
  description:
    'Each paused batch of the class runs again with the time its deadline had left (one VALIDATION_RESUMED per batch, by `operator:<operator>`). A batch that is not paused is kept. 404 for an unknown class.',
  body: jsonBody(ClassResumeBody, { operator: 'ops-anna' }),
  ok: {
    200: answer('Resumed where it could be.', ClassPauseAnswer, {
      class_id: EXAMPLE.classId,
      changed: [
        {
          batch_id: EXAMPLE.batchId,
          event_id: 'class-resume-4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a',
          remaining_ms: 21_600_000,
          until: null,
          due_at: EXAMPLE.dueAt,
        },
      ],
      kept: [],
    }),
  },
});

/** An operator's pause and resume of a whole class, through the same per-batch transitions as a teacher's. */
export function classPauseRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  const handle =
    (kind: 'pause' | 'resume'): MiddlewareHandler<AuthEnv> =>
    async (c) => {
      const params = parseValue(c, ClassParams, c.req.param(), 'params');
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, kind === 'pause' ? ClassPauseBody : ClassResumeBody);
      if (!body.ok) return body.response;
      const data = body.data as { operator: string; until?: string; reason?: string };
      const outcome = await service.pauseOrResumeClass(
        params.data.class_id,
        data.operator,
        kind === 'pause' ? { kind, until: data.until ? new Date(data.until).toISOString() : null, reason: data.reason ?? null } : { kind },
      );
      if (outcome.kind === 'not_found') return notFound(c, `Class ${params.data.class_id}`);
      if (outcome.kind === 'invalid') return validationProblem(c, outcome.errors);
      return c.json({ class_id: outcome.class_id, changed: outcome.changed, kept: outcome.kept });
    };
  documented(app, pauseRoute, requireCaller('service'), handle('pause'));
  documented(app, resumeRoute, requireCaller('service'), handle('resume'));
  return app;
}
