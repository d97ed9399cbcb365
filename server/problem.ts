import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 9457 problem details: the one place errors become HTTP. */
export interface Problem {
  status: ContentfulStatusCode;
  title: string;
  detail: string;
  [extension: string]: unknown;
}

const TYPES: Partial<Record<number, string>> = {
  400: 'validation-error',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  500: 'internal-error',
  503: 'unavailable',
};

export function problem(c: Context, p: Problem): Response {
  const { status, title, detail, type, ...extensions } = p;
  const body = { type: typeof type === 'string' ? type : `/problems/${TYPES[status] ?? 'error'}`, title, status, detail, ...extensions };
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

export type FieldError = { path: string; message: string };

export const validationProblem = (c: Context, errors: FieldError[], detail = 'The request is not valid.') =>
  problem(c, { status: 400, title: 'Invalid request', detail, errors });

export const notFound = (c: Context, what: string) => problem(c, { status: 404, title: 'Not found', detail: `${what} does not exist.` });
