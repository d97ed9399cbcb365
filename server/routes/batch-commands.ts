import { randomUUID } from 'node:crypto';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { EventRequest } from '../../app/apply.ts';
import {
  type TeacherCall,
  amendPrompt,
  cancelBatch,
  changeDeadline,
  correctAssociations,
  decideAssociations,
  pauseValidation,
  resumeValidation,
  reopenDecisions,
  requestPipeline,
} from '../../app/commands.ts';
import { idempotencyScope, requestFingerprint } from '../../app/idempotency.ts';
import type { Service } from '../../app/service.ts';
import { traceOfRequest } from '../trace.ts';
import { type AuthEnv, teacherId } from '../auth.ts';
import { answer, asTeacher, documented, jsonBody } from '../documented.ts';
import { CORRECTIONS_REFUSED_EXAMPLE, CorrectionsApplied, CorrectionsRefused } from '../openapi-schemas.ts';
import { bodyErrors, problems } from '../openapi-problems.ts';
import { ValidationPaused, ValidationResumed } from '../openapi/pauses.ts';
import { AppliedEvent, DeadlineChanged, DecisionsApplied, EXAMPLE, ReopenApplied, appliedExample } from '../openapi-schemas.ts';
import { sendOutcome } from '../outcome.ts';
import { problem, validationProblem } from '../problem.ts';
import {
  BatchParams,
  CancelBody,
  ConfirmBody,
  CorrectBody,
  DeadlineBody,
  IdempotencyKey,
  PauseBody,
  PipelineBody,
  PromptAmendmentBody,
  ReopenBody,
  ResumeBody,
} from '../schemas.ts';
import { type Parsed, parseJsonBody, parseValue } from '../validate.ts';

type Ctx = Context<AuthEnv>;

export function batchParams(c: Ctx) {
  return parseValue(c, BatchParams, c.req.param(), 'params');
}

const IdempotencyHeaders = z.object({
  'idempotency-key': IdempotencyKey.optional().openapi({
    description:
      'Sending the same key again with the same request (same teacher, batch, command and body) replays the first answer instead of acting twice; the key with a different request answers 422.',
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

/** A teacher command's route: POST on one batch, with the Idempotency-Key header and a JSON body. */
const commandRoute = (
  path: string,
  about: { summary: string; description: string },
  body: ReturnType<typeof jsonBody>,
  ok: Record<200 | 202, ReturnType<typeof answer>> | Record<200, ReturnType<typeof answer>> | Record<202, ReturnType<typeof answer>>,
) =>
  createRoute({
    method: 'post',
    path,
    tags,
    ...about,
    security: asTeacher,
    request: { params: BatchParams, headers: IdempotencyHeaders, body },
    responses: { ...ok, ...commandErrors },
  });

const confirmRoute = commandRoute(
  '/v1/batches/{batch_id}/student-associations/confirm',
  {
    summary: "Decide a batch's pending associations",
    description:
      '`confirmed: true` confirms the suggestion, or with a `student_id` corrects it to another student of the class; `false` rejects. Only pending associations can be decided; others are refused per item in `results`. When none is left pending, validation completes.',
  },
  jsonBody(ConfirmBody, {
    associations: [
      { essay_id: EXAMPLE.essayId, confirmed: true },
      { essay_id: 'e2f3a4b5-c6d7-4e8f-9a0b-1c2d3e4f5a6b', student_id: EXAMPLE.studentId, confirmed: true },
    ],
  }),
  { 200: answer('Applied; per-item results.', DecisionsApplied) },
);

const reopenRoute = commandRoute(
  '/v1/batches/{batch_id}/student-associations/reopen',
  {
    summary: 'Take back decisions while the batch waits',
    description:
      'Each named association the teacher confirmed, corrected or rejected is pending again: decided anew by the teacher, or by the deadline. Only while the batch awaits the teacher (409 otherwise, and when none of the essays can be reopened); an association the deadline decided, or one still pending, is refused per item in `results`. Nothing is published: the next decision is announced as usual. `reason` goes to the history.',
  },
  jsonBody(ReopenBody, { essay_ids: [EXAMPLE.essayId], reason: 'Wrong student picked' }),
  { 200: answer('Reopened; per-item results.', ReopenApplied) },
);

const correctRoute = createRoute({
  method: 'post',
  path: '/v1/batches/{batch_id}/student-associations/correct',
  tags,
  summary: 'Correct decided associations after validation',
  description:
    "Names the real author of essays already decided: by the teacher (confirmed, rejected) or by the deadline (a kept suggestion, `timeout_confirmed`, or the class's UNKNOWN student, `no_match`). Only once validation is over (`student_validation_completed`, `ready_for_pipeline_execution`) and until a pipeline is requested; while the batch awaits the teacher, reopen and decide instead. All or none: if any correction cannot apply (an essay not decided or not of this batch, a student outside the class, the student it already has) the call is refused with 409 and `results` says why for each. Each correction publishes `EssayStudentAssociationUpdatedV1` and the teacher is notified (`student_associations_confirmed`, with the corrected essays); StudentAssociationsConfirmedV1 is not sent again. The history keeps the replaced decision, who corrected it and the `reason`.",
  security: asTeacher,
  request: {
    params: BatchParams,
    headers: IdempotencyHeaders,
    body: jsonBody(CorrectBody, {
      corrections: [{ essay_id: EXAMPLE.essayId, student_id: EXAMPLE.studentId, reason: 'The deadline sent it to UNKNOWN; it is Ana’s' }],
    }),
  },
  responses: {
    200: answer('Corrected; per-item results.', CorrectionsApplied),
    ...commandErrors,
    409: {
      description:
        'The state does not accept corrections, or one of them cannot apply so none did (`CorrectionsRefused`, nothing changed), or another conflict (a plain `Problem`).',
      content: { 'application/problem+json': { schema: CorrectionsRefused, example: CORRECTIONS_REFUSED_EXAMPLE } },
    },
  },
});

/** The answer of an accepted command that leaves the batch in `state` (a top-level one). */
const commandApplied = (state: string, version: number) => ({
  ...appliedExample,
  event_id: 'cmd-6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b',
  state,
  status: state,
  version,
});

const pipelineRoute = commandRoute(
  '/v1/batches/{batch_id}/pipelines',
  {
    summary: 'Start a pipeline',
    description:
      "`pipeline` is one the real HuleEdu system runs: `nlp`, `cj_assessment` or `ai_feedback` (anything else is 400, naming them). Accepted only in `ready_for_pipeline_execution`; before that (e.g. while student validation is open) 409. An accepted request publishes the first phase's command, `huleedu.els.spellcheck.initiate.command.v1`, and the batch stays `ready_for_pipeline_execution`, as in the real orchestrator. `prompt_payload` is kept with the batch for later phases.",
  },
  jsonBody(PipelineBody, { pipeline: 'nlp' }),
  { 202: answer('The pipeline was requested.', AppliedEvent, commandApplied('ready_for_pipeline_execution', 6)) },
);

const cancelRoute = commandRoute(
  '/v1/batches/{batch_id}/cancel',
  { summary: 'Cancel a batch', description: 'Clears a pending deadline. Refused (409) once the batch is finished.' },
  jsonBody(CancelBody, { reason: 'Uploaded the wrong essays' }),
  { 200: answer('Cancelled.', AppliedEvent, commandApplied('cancelled', 3)) },
);

const deadlineRoute = commandRoute(
  '/v1/batches/{batch_id}/deadline',
  {
    summary: 'Move the validation deadline',
    description: 'Later by `extend_by_ms`, or to `due_at`; never into the past (400). Refused (409) when no deadline is pending.',
  },
  jsonBody(DeadlineBody, { extend_by_ms: 86_400_000 }),
  { 200: answer('The deadline moved.', DeadlineChanged) },
);

const pauseRoute = commandRoute(
  '/v1/batches/{batch_id}/deadline/pause',
  {
    summary: 'Pause the validation deadline',
    description:
      'The running deadline stops: the time it had left is kept and nothing is decided by the timeout while paused; the teacher can still decide. With `until`, the pause ends by itself then (never in the past: 400) and the deadline runs again with what it had left, counted from `until`; without, until resumed. `reason` goes to the history. Refused (409) when no deadline is running: already paused, already due, or validation not open. Nothing is published.',
  },
  jsonBody(PauseBody, { until: '2026-12-14T07:00:00.000Z', reason: 'On sick leave until Monday' }),
  { 200: answer('Paused.', ValidationPaused) },
);

const resumeRoute = commandRoute(
  '/v1/batches/{batch_id}/deadline/resume',
  {
    summary: 'Resume a paused validation deadline',
    description:
      'The deadline runs again with the time it had left when paused, counted from now, in plain time (the school calendar decided the deadline once; the remainder is what it had left). Refused (409) when nothing is paused. Nothing is published.',
  },
  jsonBody(ResumeBody, {}),
  { 200: answer('Resumed.', ValidationResumed) },
);

/**
 * Every teacher command has one shape: the batch id, the JSON body, the call's event id (from the
 * Idempotency-Key), then the application layer. Only the body's schema and the request it makes differ.
 */
function teacherCommand<S extends z.ZodType>(
  service: Service,
  command: string,
  schema: S,
  toRequest: (call: TeacherCall, body: z.infer<S>) => EventRequest,
  okStatus: 200 | 202 = 200,
): MiddlewareHandler<AuthEnv> {
  return async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const body = await parseJsonBody(c, schema);
    if (!body.ok) return body.response;
    const call = teacherCall(c, params.data.batch_id, command, body.data);
    if (!call.ok) return call.response;
    return sendOutcome(c, await service.apply(toRequest(call.data, body.data)), params.data.batch_id, okStatus);
  };
}

/**
 * The real client's confirm body may carry a top-level `user_id`; it must be the caller, since the
 * caller is who the audit says decided.
 */
const onlyAsCaller: MiddlewareHandler<AuthEnv> = async (c, next) => {
  const body = (await c.req.json().catch(() => null)) as { user_id?: unknown } | null;
  if (
    body &&
    typeof body === 'object' &&
    typeof body.user_id === 'string' &&
    body.user_id.trim() !== '' &&
    body.user_id.trim() !== teacherId(c)
  ) {
    return problem(c, {
      status: 403,
      title: 'Forbidden',
      detail: 'user_id names another user; decisions are taken as the authenticated teacher.',
    });
  }
  return next();
};

const promptRoute = createRoute({
  method: 'patch',
  path: '/v1/batches/{batch_id}/prompt',
  tags,
  summary: 'Attach or replace the student prompt',
  description:
    "`BatchPromptAmendmentRequest`, as the real orchestrator takes it: allowed while the batch awaits its content or is ready for pipelines (409 otherwise), for the batch's owner. The reference goes to the commands of the phases still to come.",
  security: asTeacher,
  request: {
    params: BatchParams,
    headers: IdempotencyHeaders,
    body: jsonBody(PromptAmendmentBody, {
      student_prompt_ref: { references: { student_prompt_text: { storage_id: 'prompt-storage-1' } } },
    }),
  },
  responses: { 200: answer('The prompt is attached.', AppliedEvent, commandApplied('awaiting_content_validation', 2)), ...commandErrors },
});

/** Teacher commands on a batch; the caller check is the batch routes' middleware. */
export function batchCommandRoutes(service: Service) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(
    app,
    confirmRoute,
    onlyAsCaller,
    teacherCommand(service, 'confirm', ConfirmBody, (call, body) => decideAssociations(call, body.associations)),
  );
  documented(
    app,
    reopenRoute,
    teacherCommand(service, 'reopen', ReopenBody, (call, body) => reopenDecisions(call, body.essay_ids, body.reason ?? null)),
  );
  documented(
    app,
    correctRoute,
    teacherCommand(service, 'correct', CorrectBody, (call, body) => correctAssociations(call, body.corrections)),
  );
  documented(
    app,
    promptRoute,
    teacherCommand(service, 'prompt', PromptAmendmentBody, (call, body) => amendPrompt(call, body.student_prompt_ref)),
  );
  documented(
    app,
    pipelineRoute,
    teacherCommand(
      service,
      'pipeline',
      PipelineBody,
      (call, body) =>
        requestPipeline(
          call,
          { pipeline: (body.requested_pipeline ?? body.pipeline)!, promptPayload: body.prompt_payload ?? null, isRetry: body.is_retry },
          service.credits,
        ),
      202,
    ),
  );
  documented(
    app,
    cancelRoute,
    teacherCommand(service, 'cancel', CancelBody, (call, body) => cancelBatch(call, body.reason ?? null)),
  );
  documented(app, deadlineRoute, teacherCommand(service, 'deadline', DeadlineBody, changeDeadline));
  documented(
    app,
    pauseRoute,
    teacherCommand(service, 'pause', PauseBody, (call, body) => pauseValidation(call, body.until ?? null, body.reason ?? null)),
  );
  documented(
    app,
    resumeRoute,
    teacherCommand(service, 'resume', ResumeBody, (call) => resumeValidation(call)),
  );
  return app;
}
