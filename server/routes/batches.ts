import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { RegisterOutcome } from '../../app/batches.ts';
import type { Service } from '../../app/service.ts';
import { traceOfRequest } from '../trace.ts';
import { type AuthEnv, requireCaller, teacherId, teachersOnly } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody, queryRoute, teacherRead } from '../documented.ts';
import { bodyErrors, problems } from '../openapi-problems.ts';
import { AssociationList, BatchList, BatchView, DeadlineList, EXAMPLE, History, RegistrationAccepted } from '../openapi-schemas.ts';
import { notFound, problem, validationProblem } from '../problem.ts';
import { BatchListQuery, BatchParams, DeadlinesQuery, GatewayRegistrationBody, RegisterBatchBody } from '../schemas.ts';
import { parseJsonBody, parseQuery } from '../validate.ts';
import { batchCommandRoutes, batchParams } from './batch-commands.ts';

const tags = ['Batches'];

const registerRoute = createRoute({
  method: 'post',
  path: '/v1/batches',
  tags,
  summary: 'Register a batch',
  description:
    "With `class_id` a REGULAR batch (the class must be the caller's and of the same course), without one a GUEST batch. A given `batch_id` that exists answers 409.",
  security: asTeacher,
  request: {
    body: jsonBody(RegisterBatchBody, { course_code: 'ENG5', class_id: EXAMPLE.classId, expected_essay_count: 3 }),
  },
  responses: {
    201: answer('Registered, in `awaiting_content_validation`.', BatchView),
    ...problems([...bodyErrors, 404, 409]),
  },
});

const gatewayRegisterRoute = createRoute({
  method: 'post',
  path: '/v1/batches/register',
  tags,
  summary: "Register a batch (the orchestrator's door)",
  description:
    "`BatchRegistrationRequestV1` as HuleEdu's API gateway sends it to the orchestrator; answers 202 `{batch_id, correlation_id, status: \"registered\"}`. `user_id` must be the caller. `org_id`, `student_prompt_ref`, `essay_ids`, `assignment_id` and the CJ defaults are kept with the batch: `org_id` goes into the metadata of every command the batch sends, `essay_ids` into BatchEssaysRegistered. With `class_id` a REGULAR batch (the class must be the caller's, and the batch's course one of the class's).",
  security: asTeacher,
  request: {
    body: jsonBody(GatewayRegistrationBody, {
      expected_essay_count: 3,
      course_code: 'SV1',
      user_id: 'teacher-a',
      org_id: 'org-1',
      class_id: EXAMPLE.classId,
      student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-storage-1' } } },
    }),
  },
  responses: {
    202: answer('Registered, in `awaiting_content_validation`.', RegistrationAccepted),
    ...problems([...bodyErrors, 403, 404, 409]),
  },
});

const listRoute = queryRoute({
  path: '/v1/batches',
  tags,
  summary: "The caller's batches",
  description: 'Newest first, at most 1000; `status` filters by status.',
  security: asTeacher,
  query: BatchListQuery,
  ok: answer("The caller's batches.", BatchList),
});

/** A GET of one of the caller's batches: 400 for a bad id, 404 when the batch is not theirs. */
const batchReadRoute = (path: string, about: { summary: string; description?: string }, ok: ReturnType<typeof answer>) =>
  teacherRead(path, BatchParams, ok, { tags, ...about });

const getRoute = batchReadRoute(
  '/v1/batches/{batch_id}',
  { summary: 'One batch' },
  answer('The batch, with its validation counts and deadline.', BatchView),
);

const associationsRoute = batchReadRoute(
  '/v1/batches/{batch_id}/student-associations',
  {
    summary: "A batch's essay–student associations",
    description: 'One row per essay: the suggestion, its confidence, and the decision once taken.',
  },
  answer('One association per essay.', AssociationList),
);

const historyRoute = batchReadRoute(
  '/v1/batches/{batch_id}/history',
  { summary: "A batch's audit log", description: 'Append-only: every applied event, and every refused or late one with the reason.' },
  answer('The audit log, oldest first.', History),
);

/** The handler of a batchReadRoute: reads as the caller, and answers what `view` makes of it. */
function batchRead<T>(
  read: (ownerId: string, batchId: string) => Promise<T | null>,
  view: (batchId: string, found: T) => object,
): MiddlewareHandler<AuthEnv> {
  return async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const found = await read(teacherId(c), params.data.batch_id);
    return found ? c.json(view(params.data.batch_id, found)) : notFound(c, `Batch ${params.data.batch_id}`);
  };
}

const deadlinesRoute = queryRoute({
  path: '/v1/deadlines',
  tags: ['Deadlines'],
  summary: "The caller's pending validation deadlines",
  description:
    'Soonest first, with what the timeout will decide for each batch; `before` limits to deadlines before an instant. Paused validations are listed apart (`paused`), with the time each had left and when the pause ends.',
  security: asTeacher,
  query: DeadlinesQuery,
  ok: answer('Pending deadlines.', DeadlineList),
});

/** A registration that made no batch, on either registration door: the class, the body or an existing id. */
function registrationRefused(
  c: Context<AuthEnv>,
  outcome: Exclude<RegisterOutcome, { kind: 'registered' }>,
  body: { class_id?: string | null | undefined; batch_id?: string | undefined },
): Response {
  switch (outcome.kind) {
    case 'class_not_found':
      return notFound(c, `Class ${body.class_id}`);
    case 'invalid':
      return validationProblem(c, outcome.errors);
    case 'exists':
      return problem(c, {
        status: 409,
        title: 'Conflict',
        detail: body.batch_id ? `Batch ${body.batch_id} already exists.` : 'The batch already exists.',
      });
  }
}

export function batchRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  teachersOnly(app, '/v1/batches');
  documented(app, registerRoute, async (c) => {
    const body = await parseJsonBody(c, RegisterBatchBody);
    if (!body.ok) return body.response;
    const outcome = await service.registerBatch(teacherId(c), body.data, c.get('correlationId'), traceOfRequest(c));
    if (outcome.kind !== 'registered') return registrationRefused(c, outcome, body.data);
    return c.json(await service.getBatch(teacherId(c), outcome.batch.batch_id), 201);
  });
  documented(app, gatewayRegisterRoute, async (c) => {
    const body = await parseJsonBody(c, GatewayRegistrationBody);
    if (!body.ok) return body.response;
    if (body.data.user_id !== teacherId(c)) {
      return problem(c, {
        status: 403,
        title: 'Forbidden',
        detail: 'user_id names another user; a batch is registered for the authenticated teacher.',
      });
    }
    const orgId = body.data.org_id ?? (c.var as { orgId?: string | null }).orgId ?? null;
    const outcome = await service.registerBatch(teacherId(c), { ...body.data, org_id: orgId }, c.get('correlationId'), traceOfRequest(c));
    if (outcome.kind !== 'registered') return registrationRefused(c, outcome, body.data);
    return c.json({ batch_id: outcome.batch.batch_id, correlation_id: outcome.batch.correlation_id, status: 'registered' }, 202);
  });
  documented(app, listRoute, async (c) => {
    const query = parseQuery(c, BatchListQuery);
    if (!query.ok) return query.response;
    return c.json({ batches: await service.listBatches(teacherId(c), query.data.status) });
  });
  documented(
    app,
    getRoute,
    batchRead(service.getBatch, (_batchId, view) => view),
  );
  documented(
    app,
    associationsRoute,
    batchRead(service.listAssociations, (batch_id, associations) => ({ batch_id, associations })),
  );
  app.route('/', batchCommandRoutes(service));
  documented(app, deadlinesRoute, requireCaller('teacher'), async (c) => {
    const query = parseQuery(c, DeadlinesQuery);
    if (!query.ok) return query.response;
    const deadlines = await service.deadlines(teacherId(c), query.data.before);
    return c.json({
      deadlines,
      pending_associations: deadlines.reduce((n, d) => n + d.pending_associations, 0),
      paused: await service.pausedValidations(teacherId(c)),
    });
  });
  documented(
    app,
    historyRoute,
    batchRead(service.history, (batch_id, history) => ({ batch_id, history })),
  );
  return app;
}
