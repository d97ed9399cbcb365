import { z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';
import { BatchStatus } from '../machines/domain.ts';
import { TOPICS } from '../machines/events.ts';
import { EXAMPLE } from './openapi/common.ts';
import { BODY_TOO_LARGE_DETAIL, MAX_BODY_BYTES, PROBLEM_KINDS, type ProblemStatus, problemType } from './problem.ts';

/**
 * The error answers as the OpenAPI document shows them: problem+json (RFC 9457) with the 400
 * `errors` and 409 transition extensions, and which routes answer which. problem.ts builds them.
 */

const count = z.number().int().nonnegative();

const FieldError = z.strictObject({
  path: z
    .string()
    .openapi({ description: 'Dotted path of the offending field: `data.batch_id`, `params.batch_id`, `query.limit`, `(root)`.' }),
  message: z.string(),
});

export const Problem = z
  .looseObject({
    type: z.string().openapi({ description: 'A relative URI naming the kind of problem, e.g. `/problems/not-found`.' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
  })
  .openapi('Problem', {
    description: 'RFC 9457 problem details (`application/problem+json`), the shape of every error.',
    example: { type: '/problems/not-found', title: 'Not found', status: 404, detail: `Batch ${EXAMPLE.batchId} does not exist.` },
  });

export const ValidationProblem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.literal(400),
    detail: z.string(),
    errors: z.array(FieldError).min(1),
  })
  .openapi('ValidationProblem', {
    description: 'A 400: the body, a parameter or a header does not fit its schema, or the body is not JSON.',
    example: {
      type: '/problems/validation-error',
      title: 'Invalid request',
      status: 400,
      detail: 'The request is not valid.',
      errors: [{ path: 'data.batch_id', message: 'Invalid UUID' }],
    },
  });

export const TransitionRefused = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.literal(409),
    detail: z.string(),
    state: z.string().openapi({ description: "The batch's current state value (dotted when nested)." }),
    status_value: BatchStatus.meta({ description: "The batch's current status." }),
    event: z.string().openapi({ description: 'The event that was refused: a topic name or a teacher command.' }),
    allowed_events: z.array(z.string()).openapi({ description: 'What the current state accepts.' }),
    version: count,
  })
  .openapi('TransitionRefused', {
    description: "A 409: the batch's current state does not accept the event. Nothing was changed.",
  });

export const REFUSED_EXAMPLE = {
  type: '/problems/conflict',
  title: 'Transition refused',
  status: 409,
  detail: `Batch ${EXAMPLE.batchId} is in state awaiting_content_validation, which does not accept ${TOPICS.pipelineRequest}.`,
  state: 'awaiting_content_validation',
  status_value: 'awaiting_content_validation',
  event: TOPICS.pipelineRequest,
  allowed_events: [TOPICS.contentProvisioned, 'CANCEL'],
  version: 1,
};

const problemContent = (schema: ZodType, example: Record<string, unknown>) => ({ 'application/problem+json': { schema, example } });

/** An example answer as problem.ts builds it: the slug and title come from its catalogue. */
const plain = (status: ProblemStatus, detail: string) => ({
  type: problemType(status),
  title: PROBLEM_KINDS[status].title,
  status,
  detail,
});

const PROBLEMS = {
  400: {
    description: 'The body, a parameter or a header does not fit its schema, or the body is not JSON.',
    content: problemContent(ValidationProblem, {
      ...plain(400, 'The request is not valid.'),
      errors: [{ path: 'params.batch_id', message: 'Invalid UUID' }],
    }),
  },
  401: {
    description: 'No token, or a bad or expired one.',
    headers: {
      'WWW-Authenticate': { description: 'The scheme to authenticate with (RFC 6750).', schema: { type: 'string', example: 'Bearer' } },
    },
    content: problemContent(Problem, plain(401, 'The token is invalid or expired.')),
  },
  403: {
    description: 'A teacher calling a service route, or a service calling a teacher route.',
    content: problemContent(Problem, plain(403, 'This route is for teachers only.')),
  },
  404: {
    description: 'No such batch or class, or it belongs to another teacher (answered as 404 so ids do not leak).',
    content: problemContent(Problem, plain(404, `Batch ${EXAMPLE.batchId} does not exist.`)),
  },
  409: {
    description: 'A conflict with what exists, e.g. a batch_id or a student e-mail already taken.',
    content: problemContent(Problem, plain(409, `Batch ${EXAMPLE.batchId} already exists.`)),
  },
  413: {
    description: `The body is larger than ${MAX_BODY_BYTES} bytes (${MAX_BODY_BYTES / 1024 / 1024} MiB).`,
    content: problemContent(Problem, plain(413, BODY_TOO_LARGE_DETAIL)),
  },
  422: {
    description:
      'The event_id or Idempotency-Key was used before for a different request (another body, batch or command). Nothing was applied; send a new key.',
    content: problemContent(Problem, plain(422, 'The key confirm-1 was used for a different request.')),
  },
  415: {
    description: 'The body is not sent as application/json.',
    content: problemContent(Problem, plain(415, 'Send the body as application/json, not text/plain.')),
  },
} as const;

/** The 409 of routes that apply an event: a refused transition, or another conflict. */
const REFUSED = {
  409: {
    description:
      "The batch's current state does not accept this event (`TransitionRefused`, nothing changed), or another conflict (a plain `Problem`).",
    content: problemContent(TransitionRefused.or(Problem), REFUSED_EXAMPLE),
  },
} as const;

export type DocumentedStatus = keyof typeof PROBLEMS;

/** Error answers of a route, by status; `refused` documents the 409 with the transition extensions. */
export function problems(statuses: DocumentedStatus[], options: { refused?: boolean } = {}) {
  const picked = Object.fromEntries(statuses.map((s) => [s, PROBLEMS[s]]));
  return options.refused ? { ...picked, ...REFUSED } : picked;
}

/** The errors every route under /v1 can answer: by the auth middleware, and for a body, by validate.ts and the body limit. */
export const callerErrors: DocumentedStatus[] = [401, 403];
export const bodyErrors: DocumentedStatus[] = [400, 401, 403, 413, 415];
