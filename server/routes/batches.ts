import { OpenAPIHono, createRoute } from '@hono/zod-openapi';
import type { Service } from '../../app/service.ts';
import { traceOfRequest } from '../trace.ts';
import { type AuthEnv, requireCaller, teacherId } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody } from '../documented.ts';
import { bodyErrors, callerErrors, problems } from '../openapi-problems.ts';
import { AssociationList, BatchList, BatchView, DeadlineList, EXAMPLE, History } from '../openapi-schemas.ts';
import { notFound, problem, validationProblem } from '../problem.ts';
import { BatchListQuery, BatchParams, DeadlinesQuery, RegisterBatchBody } from '../schemas.ts';
import { parseJsonBody, parseValue } from '../validate.ts';
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

const listRoute = createRoute({
  method: 'get',
  path: '/v1/batches',
  tags,
  summary: "The caller's batches",
  description: 'Newest first, at most 1000; `status` filters by status.',
  security: asTeacher,
  request: { query: BatchListQuery },
  responses: {
    200: answer("The caller's batches.", BatchList),
    ...problems([400, ...callerErrors]),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{batch_id}',
  tags,
  summary: 'One batch',
  security: asTeacher,
  request: { params: BatchParams },
  responses: {
    200: answer('The batch, with its validation counts and deadline.', BatchView),
    ...problems([400, ...callerErrors, 404]),
  },
});

const associationsRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{batch_id}/student-associations',
  tags,
  summary: "A batch's essay–student associations",
  description: 'One row per essay: the suggestion, its confidence, and the decision once taken.',
  security: asTeacher,
  request: { params: BatchParams },
  responses: {
    200: answer('One association per essay.', AssociationList),
    ...problems([400, ...callerErrors, 404]),
  },
});

const historyRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{batch_id}/history',
  tags,
  summary: "A batch's audit log",
  description: 'Append-only: every applied event, and every refused or late one with the reason.',
  security: asTeacher,
  request: { params: BatchParams },
  responses: {
    200: answer('The audit log, oldest first.', History),
    ...problems([400, ...callerErrors, 404]),
  },
});

const deadlinesRoute = createRoute({
  method: 'get',
  path: '/v1/deadlines',
  tags: ['Deadlines'],
  summary: "The caller's pending validation deadlines",
  description: 'Soonest first, with what the timeout will decide for each batch; `before` limits to deadlines before an instant.',
  security: asTeacher,
  request: { query: DeadlinesQuery },
  responses: {
    200: answer('Pending deadlines.', DeadlineList),
    ...problems([400, ...callerErrors]),
  },
});

export function batchRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  app.use('/v1/batches', requireCaller('teacher'));
  app.use('/v1/batches/*', requireCaller('teacher'));
  documented(app, registerRoute, async (c) => {
    const body = await parseJsonBody(c, RegisterBatchBody);
    if (!body.ok) return body.response;
    const outcome = await service.registerBatch(teacherId(c), body.data, c.get('correlationId'), traceOfRequest(c));
    switch (outcome.kind) {
      case 'class_not_found':
        return notFound(c, `Class ${body.data.class_id}`);
      case 'invalid':
        return validationProblem(c, outcome.errors);
      case 'exists':
        return problem(c, { status: 409, title: 'Conflict', detail: `Batch ${body.data.batch_id} already exists.` });
      case 'registered': {
        const view = await service.getBatch(teacherId(c), outcome.batch.batch_id);
        return c.json(view, 201);
      }
    }
  });
  documented(app, listRoute, async (c) => {
    const query = parseValue(c, BatchListQuery, c.req.query(), 'query');
    if (!query.ok) return query.response;
    return c.json({ batches: await service.listBatches(teacherId(c), query.data.status) });
  });
  documented(app, getRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const view = await service.getBatch(teacherId(c), params.data.batch_id);
    return view ? c.json(view) : notFound(c, `Batch ${params.data.batch_id}`);
  });
  documented(app, associationsRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const associations = await service.listAssociations(teacherId(c), params.data.batch_id);
    if (!associations) return notFound(c, `Batch ${params.data.batch_id}`);
    return c.json({ batch_id: params.data.batch_id, associations });
  });
  app.route('/', batchCommandRoutes(service));
  documented(app, deadlinesRoute, requireCaller('teacher'), async (c) => {
    const query = parseValue(c, DeadlinesQuery, c.req.query(), 'query');
    if (!query.ok) return query.response;
    const deadlines = await service.deadlines(teacherId(c), query.data.before);
    return c.json({
      deadlines,
      pending_associations: deadlines.reduce((n, d) => n + d.pending_associations, 0),
    });
  });
  documented(app, historyRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const history = await service.history(teacherId(c), params.data.batch_id);
    if (!history) return notFound(c, `Batch ${params.data.batch_id}`);
    return c.json({ batch_id: params.data.batch_id, history });
  });
  return app;
}
