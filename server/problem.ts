import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 9457 problem details: the one place errors become HTTP. */
export interface Problem {
  status: ContentfulStatusCode;
  title: string;
  detail: string;
  [extension: string]: unknown;
}

/** Each kind of problem by status: the slug of its `type` URI and its usual title (the OpenAPI document shows these). */
export const PROBLEM_KINDS = {
  400: { slug: 'validation-error', title: 'Invalid request' },
  401: { slug: 'unauthorized', title: 'Unauthorized' },
  403: { slug: 'forbidden', title: 'Forbidden' },
  404: { slug: 'not-found', title: 'Not found' },
  405: { slug: 'method-not-allowed', title: 'Method not allowed' },
  409: { slug: 'conflict', title: 'Conflict' },
  413: { slug: 'payload-too-large', title: 'Payload too large' },
  415: { slug: 'unsupported-media-type', title: 'Unsupported media type' },
  422: { slug: 'idempotency-key-reused', title: 'Idempotency key reused' },
  500: { slug: 'internal-error', title: 'Internal error' },
  503: { slug: 'unavailable', title: 'Unavailable' },
} as const satisfies Record<number, { slug: string; title: string }>;

export type ProblemStatus = keyof typeof PROBLEM_KINDS;

export const problemType = (status: number) => `/problems/${PROBLEM_KINDS[status as ProblemStatus]?.slug ?? 'error'}`;

/** The largest request body /v1 accepts; server/app.ts enforces it. */
export const MAX_BODY_BYTES = 1024 * 1024;
export const BODY_TOO_LARGE_DETAIL = `Bodies are limited to ${MAX_BODY_BYTES} bytes.`;

export function problem(c: Context, p: Problem): Response {
  const { status, title, detail, type, ...extensions } = p;
  const body = { type: typeof type === 'string' ? type : problemType(status), title, status, detail, ...extensions };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

export type FieldError = { path: string; message: string };

export const validationProblem = (c: Context, errors: FieldError[], detail = 'The request is not valid.') =>
  problem(c, { status: 400, title: 'Invalid request', detail, errors });

export const notFound = (c: Context, what: string) => problem(c, { status: 404, title: 'Not found', detail: `${what} does not exist.` });
