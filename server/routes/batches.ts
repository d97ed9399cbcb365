import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type TeacherCall, cancelBatch, changeDeadline, decideAssociations, requestPipeline } from '../../app/commands.ts';
import type { Service } from '../../app/service.ts';
import { type AuthEnv, requireCaller, teacherId } from '../auth.ts';
import { sendOutcome } from '../outcome.ts';
import { notFound, problem, validationProblem } from '../problem.ts';
import {
  BatchListQuery,
  BatchParams,
  CancelBody,
  ConfirmBody,
  DeadlineBody,
  DeadlinesQuery,
  IdempotencyKey,
  PipelineBody,
  RegisterBatchBody,
} from '../schemas.ts';
import { type Parsed, parseJsonBody, parseValue } from '../validate.ts';

type Ctx = Context<AuthEnv>;

function batchParams(c: Ctx) {
  return parseValue(c, BatchParams, c.req.param(), 'params');
}

/**
 * A teacher command's event id: the Idempotency-Key when sent (scoped to teacher, batch and
 * command, so keys never collide across them), otherwise a fresh one.
 */
function teacherCall(c: Ctx, batchId: string, command: string): Parsed<TeacherCall> {
  const header = c.req.header('idempotency-key');
  let eventId = `cmd-${randomUUID()}`;
  if (header !== undefined) {
    const key = IdempotencyKey.safeParse(header);
    if (!key.success) {
      return { ok: false, response: validationProblem(c, [{ path: 'headers.idempotency-key', message: key.error.issues[0]!.message }]) };
    }
    eventId = `idem-${command}-${teacherId(c)}-${batchId}-${key.data}`;
  }
  return { ok: true, data: { teacherId: teacherId(c), batchId, eventId, correlationId: c.get('correlationId') } };
}

export function batchRoutes(service: Service) {
  return new Hono<AuthEnv>()
    .use('/v1/batches', requireCaller('teacher'))
    .use('/v1/batches/*', requireCaller('teacher'))
    .post('/v1/batches', async (c) => {
      const body = await parseJsonBody(c, RegisterBatchBody);
      if (!body.ok) return body.response;
      const outcome = await service.registerBatch(teacherId(c), body.data, c.get('correlationId'));
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
    })
    .get('/v1/batches', async (c) => {
      const query = parseValue(c, BatchListQuery, c.req.query(), 'query');
      if (!query.ok) return query.response;
      return c.json({ batches: await service.listBatches(teacherId(c), query.data.status) });
    })
    .get('/v1/batches/:batch_id', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const view = await service.getBatch(teacherId(c), params.data.batch_id);
      return view ? c.json(view) : notFound(c, `Batch ${params.data.batch_id}`);
    })
    .get('/v1/batches/:batch_id/student-associations', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const associations = await service.listAssociations(teacherId(c), params.data.batch_id);
      if (!associations) return notFound(c, `Batch ${params.data.batch_id}`);
      return c.json({ batch_id: params.data.batch_id, associations });
    })
    .post('/v1/batches/:batch_id/student-associations/confirm', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, ConfirmBody);
      if (!body.ok) return body.response;
      const call = teacherCall(c, params.data.batch_id, 'confirm');
      if (!call.ok) return call.response;
      return sendOutcome(c, await service.apply(decideAssociations(call.data, body.data.associations)), params.data.batch_id);
    })
    .post('/v1/batches/:batch_id/pipelines', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, PipelineBody);
      if (!body.ok) return body.response;
      const call = teacherCall(c, params.data.batch_id, 'pipeline');
      if (!call.ok) return call.response;
      return sendOutcome(c, await service.apply(requestPipeline(call.data, body.data.pipeline)), params.data.batch_id, 202);
    })
    .post('/v1/batches/:batch_id/cancel', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, CancelBody);
      if (!body.ok) return body.response;
      const call = teacherCall(c, params.data.batch_id, 'cancel');
      if (!call.ok) return call.response;
      return sendOutcome(c, await service.apply(cancelBatch(call.data, body.data.reason ?? null)), params.data.batch_id);
    })
    .post('/v1/batches/:batch_id/deadline', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const body = await parseJsonBody(c, DeadlineBody);
      if (!body.ok) return body.response;
      const call = teacherCall(c, params.data.batch_id, 'deadline');
      if (!call.ok) return call.response;
      const outcome = await service.apply(changeDeadline(call.data, body.data));
      if (outcome.kind !== 'applied') return sendOutcome(c, outcome, params.data.batch_id);
      const view = await service.getBatch(teacherId(c), params.data.batch_id);
      return c.json({ ...outcome.body, due_at: view?.validation.due_at ?? null });
    })
    .get('/v1/deadlines', requireCaller('teacher'), async (c) => {
      const query = parseValue(c, DeadlinesQuery, c.req.query(), 'query');
      if (!query.ok) return query.response;
      const deadlines = await service.deadlines(teacherId(c), query.data.before);
      return c.json({
        deadlines,
        pending_associations: deadlines.reduce((n, d) => n + d.pending_associations, 0),
      });
    })
    .get('/v1/batches/:batch_id/history', async (c) => {
      const params = batchParams(c);
      if (!params.ok) return params.response;
      const history = await service.history(teacherId(c), params.data.batch_id);
      if (!history) return notFound(c, `Batch ${params.data.batch_id}`);
      return c.json({ batch_id: params.data.batch_id, history });
    });
}
