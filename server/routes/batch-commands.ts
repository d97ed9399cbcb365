import { randomUUID } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { type TeacherCall, cancelBatch, changeDeadline, decideAssociations, requestPipeline } from '../../app/commands.ts';
import { idempotencyScope, requestFingerprint } from '../../app/idempotency.ts';
import type { Service } from '../../app/service.ts';
import { traceOfRequest } from '../trace.ts';
import { type AuthEnv, teacherId } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody } from '../documented.ts';
import { bodyErrors, problems } from '../openapi-problems.ts';
import { AppliedEvent, DeadlineChanged, DecisionsApplied, EXAMPLE } from '../openapi-schemas.ts';
import { sendOutcome } from '../outcome.ts';
import { validationProblem } from '../problem.ts';
import { BatchParams, CancelBody, ConfirmBody, DeadlineBody, IdempotencyKey, PipelineBody } from '../schemas.ts';
import { type Parsed, parseJsonBody, parseValue } from '../validate.ts';

type Ctx = Context<AuthEnv>;

export function batchParams(c: Ctx) {
  return parseValue(c, BatchParams, c.req.param(), 'params');
}

const IdempotencyHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().openapi({
    description: 'Sending the same key again with the same request (same teacher, batch, command and body) replays the first answer instead of acting twice; the key with a different request answers 422.',
    example: 'confirm-2026-03-02-1',
  }),
});

/**
 * A teacher command's event id: the Idempotency-Key when sent (scoped to teacher, batch and
 * command, so keys never collide across them), otherwise a fresh one.
 */
function teacherCall(c: Ctx, batchId: string, command: string, body: unknown): Parsed<TeacherCall> {
  const header = c.req.header('idempotency-key');
  let eventId = `cmd-${randomUUID()}`;
  if (header !== undefined) {
    const key = IdempotencyKey.safeParse(header);
    if (!key.success) {
      return { ok: false, response: validationProblem(c, [{ path: 'headers.idempotency-key', message: key.error.issues[0]!.message }]) };
    }
    eventId = idempotencyScope(command, teacherId(c), batchId, key.data);
  }
  const trace = traceOfRequest(c);
  const fingerprint = requestFingerprint(c.req.method, c.req.routePath, batchId, body);
  return {
    ok: true,
    data: { teacherId: teacherId(c), batchId, eventId, fingerprint, correlationId: c.get('correlationId'), ...(trace ? { trace } : {}) },
  };
}

const tags = ['Batch commands'];
const commandErrors = problems([...bodyErrors, 404, 422], { refused: true });

const confirmRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/student-associations/confirm',
  tags,
  summary: "Decide a batch's pending associations",
  description:
    '`confirmed: true` confirms the suggestion, or with a `student_id` corrects it to another student of the class; `false` rejects. Only pending associations can be decided; others are refused per item in `results`. When none is left pending, validation completes.',
  security: asTeacher,
  request: {
    params: BatchParams,
    headers: IdempotencyHeaders,
    body: jsonBody(ConfirmBody, {
      associations: [
        { essay_id: EXAMPLE.essayId, confirmed: true },
        { essay_id: 'e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b', student_id: EXAMPLE.studentId, confirmed: true },
      ],
    }),
  },
  responses: {
    200: answer('Applied; per-item results.', DecisionsApplied),
    ...commandErrors,
  },
});

const pipelineRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/pipelines',
  tags,
  summary: 'Start a pipeline',
  description:
    '`pipeline` is one the real HuleEdu system runs: `nlp`, `cj_assessment` or `ai_feedback` (anything else is 400, naming them). Accepted only in `ready_for_pipeline_execution`; before that (e.g. while student validation is open) 409. An accepted request publishes the first phase\'s command, `huleedu.els.spellcheck.initiate.command.v1`, and the batch stays `ready_for_pipeline_execution`, as in the real orchestrator. `prompt_payload` is kept with the batch for later phases.',
  security: asTeacher,
  request: { params: BatchParams, headers: IdempotencyHeaders, body: jsonBody(PipelineBody, { pipeline: 'nlp' }) },
  responses: {
    202: answer('The pipeline was requested.', AppliedEvent, {
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      batch_id: EXAMPLE.batchId,
      state: 'ready_for_pipeline_execution',
      status: 'ready_for_pipeline_execution',
      version: 6,
      duplicate: false,
    }),
    ...commandErrors,
  },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/cancel',
  tags,
  summary: 'Cancel a batch',
  description: 'Clears a pending deadline. Refused (409) once the batch is finished.',
  security: asTeacher,
  request: { params: BatchParams, headers: IdempotencyHeaders, body: jsonBody(CancelBody, { reason: 'Uploaded the wrong essays' }) },
  responses: {
    200: answer('Cancelled.', AppliedEvent, {
      event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
      batch_id: EXAMPLE.batchId,
      state: 'cancelled',
      status: 'cancelled',
      version: 3,
      duplicate: false,
    }),
    ...commandErrors,
  },
});

const deadlineRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/deadline',
  tags,
  summary: 'Move the validation deadline',
  description: 'Later by `extend_by_ms`, or to `due_at`; never into the past (400). Refused (409) when no deadline is pending.',
  security: asTeacher,
  request: { params: BatchParams, headers: IdempotencyHeaders, body: jsonBody(DeadlineBody, { extend_by_ms: 86_400_000 }) },
  responses: {
    200: answer('The deadline moved.', DeadlineChanged),
    ...commandErrors,
  },
});

/** Teacher commands on a batch; the caller check is the batch routes' middleware. */
export function batchCommandRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, confirmRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, ConfirmBody);
    if (!body.ok) return body.response;
    const call = teacherCall(c, params.data.batch_id, 'confirm', body.data);
    if (!call.ok) return call.response;
    return sendOutcome(c, await service.apply(decideAssociations(call.data, body.data.associations)), params.data.batch_id);
  });
  documented(app, pipelineRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, PipelineBody);
    if (!body.ok) return body.response;
    const call = teacherCall(c, params.data.batch_id, 'pipeline', body.data);
    if (!call.ok) return call.response;
    return sendOutcome(c, await service.apply(requestPipeline(call.data, body.data.pipeline, body.data.prompt_payload ?? null)), params.data.batch_id, 202);
  });
  documented(app, cancelRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, CancelBody);
    if (!body.ok) return body.response;
    const call = teacherCall(c, params.data.batch_id, 'cancel', body.data);
    if (!call.ok) return call.response;
    return sendOutcome(c, await service.apply(cancelBatch(call.data, body.data.reason ?? null)), params.data.batch_id);
  });
  documented(app, deadlineRoute, async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, DeadlineBody);
    if (!body.ok) return body.response;
    const call = teacherCall(c, params.data.batch_id, 'deadline', body.data);
    if (!call.ok) return call.response;
    return sendOutcome(c, await service.apply(changeDeadline(call.data, body.data)), params.data.batch_id);
  });
  return app;
}
