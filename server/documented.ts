import { type OpenAPIHono, type RouteConfig, createRoute } from '@hono/zod-openapi';
import type { Env, MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';
import { type DocumentedStatus, bodyErrors, callerErrors, problems } from './openapi-problems.ts';
import { SECURITY } from './openapi/index.ts';

/**
 * Puts a route in the OpenAPI document and mounts its handlers as plain Hono routes. We do not use
 * `app.openapi()`: its validators would answer a wrong content type, malformed JSON and schema
 * errors in their own way (and through onError as 500s), where validate.ts answers 415 and
 * problem+json 400s. The handlers validate with the very schemas this route config names.
 */
export function documented<E extends Env>(app: OpenAPIHono<E>, route: RouteConfig, ...handlers: MiddlewareHandler<E>[]): void {
  app.openAPIRegistry.registerPath(route);
  app.on([route.method.toUpperCase()], [route.path.replaceAll(/\{(\w+)\}/g, ':$1')], ...handlers);
}

export const asService = [{ [SECURITY.service]: [] }];
export const asTeacher = [{ [SECURITY.teacher]: [] }];

const jsonContent = (schema: ZodType, example?: unknown) => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});

export const jsonBody = (schema: ZodType, example: unknown) => ({ required: true, content: jsonContent(schema, example) });

export const answer = (description: string, schema: ZodType, example?: unknown) => ({ description, content: jsonContent(schema, example) });

/** A GET of a list filtered by its query string: 400 for a bad query, 401/403 for the wrong caller. */
export const queryRoute = (route: {
  path: string;
  tags: string[];
  summary: string;
  description: string;
  security: typeof asService | typeof asTeacher;
  query: NonNullable<NonNullable<RouteConfig['request']>['query']>;
  ok: ReturnType<typeof answer>;
}) =>
  createRoute({
    method: 'get',
    path: route.path,
    tags: route.tags,
    summary: route.summary,
    description: route.description,
    security: route.security,
    request: { query: route.query },
    responses: { 200: route.ok, ...problems([400, ...callerErrors]) },
  });

/** What a route says of itself in the document. */
interface About {
  tags: string[];
  summary: string;
  description?: string;
}

/** A teacher's GET of one thing named by its path parameters: 400 for a bad id, 401/403 for the wrong caller, 404 when it is not theirs. */
export const teacherRead = (
  path: string,
  params: NonNullable<NonNullable<RouteConfig['request']>['params']>,
  ok: ReturnType<typeof answer>,
  about: About,
) =>
  createRoute({
    method: 'get',
    path,
    ...about,
    security: asTeacher,
    request: { params },
    responses: { 200: ok, ...problems([400, ...callerErrors, 404]) },
  });

/** A teacher's write with a JSON body: `ok` on success, else the body's problems and `errors`. */
export const teacherWrite = (
  method: 'post' | 'put',
  path: string,
  ok: { 200: ReturnType<typeof answer> } | { 201: ReturnType<typeof answer> },
  errors: DocumentedStatus[],
  about: About & { request: NonNullable<RouteConfig['request']> },
) =>
  createRoute({
    method,
    path,
    ...about,
    security: asTeacher,
    responses: { ...ok, ...problems([...bodyErrors, ...errors]) },
  });
