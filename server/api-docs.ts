import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type OpenAPIHono, createRoute } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import type { Env } from 'hono';
import { answer } from './documented.ts';
import { Problem } from './openapi-problems.ts';
import { Health, Ready, SECURITY } from './openapi/index.ts';
import { CourseCode, courseOf } from '../machines/domain.ts';

/** The course codes a class or batch may name, listed where a newcomer reads first. */
const COURSES = CourseCode.options.map((code) => `\`${code}\` (${courseOf(code).name}, ${courseOf(code).language})`).join(', ');

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';
/** The Scalar page's script, served from the installed package: the page must work without a CDN. */
export const DOCS_SCRIPT_PATH = '/docs/scalar.js';

const API_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'HuleEdu batch state service',
    version: '0.1.0',
    description:
      'Batch and student-association state of HuleEdu phase 1. Services post the events they publish to `/v1/events` and read what this service emits from `/v1/outbox`; teachers manage classes, batches and association decisions under `/v1/classes` and `/v1/batches`. Every error is `application/problem+json`. Course codes: ' +
      `${COURSES}; the code sets the batch's language.`,
  },
};

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['Operations'],
  summary: 'Liveness',
  security: [],
  responses: { 200: answer('The process is up.', Health, { status: 'ok' }) },
});

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['Operations'],
  summary: 'Readiness',
  description: 'Checks the database; 503 while draining after SIGTERM or when the database is unreachable.',
  security: [],
  responses: {
    200: answer('Ready to take traffic.', Ready, { status: 'ready' }),
    503: {
      description: 'Draining or not ready.',
      content: {
        'application/problem+json': {
          schema: Problem,
          example: { type: '/problems/unavailable', title: 'Draining', status: 503, detail: 'The service is shutting down.' },
        },
      },
    },
  },
});

/**
 * `GET /openapi.json`, `GET /docs` and the docs page's script, on the root app so the document holds
 * every route mounted on it. The health routes are handled in app.ts; they are documented here.
 */
export function mountApiDocs<E extends Env>(app: OpenAPIHono<E>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', SECURITY.service, {
    type: 'http',
    scheme: 'bearer',
    description: 'The service token (`SERVICE_TOKEN`), for the services that post events and read the outbox.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', SECURITY.teacher, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A teacher's HS256 JWT signed with `JWT_SECRET`; `sub` is the teacher id. `npm run token` prints one.",
  });
  app.openAPIRegistry.registerPath(healthRoute);
  app.openAPIRegistry.registerPath(readyRoute);

  // Built on first request, when every route is mounted; the routes do not change afterwards.
  let document: unknown;
  app.get(OPENAPI_PATH, (c) => {
    document ??= app.getOpenAPI31Document(API_INFO);
    return c.json(document);
  });

  app.get(
    DOCS_PATH,
    Scalar({
      url: OPENAPI_PATH,
      cdn: DOCS_SCRIPT_PATH,
      pageTitle: 'HuleEdu batch state service API',
      // Offline: no web fonts, no telemetry, no hosted AI agent and no share/deploy toolbar, all of which call out.
      withDefaultFonts: false,
      telemetry: false,
      agent: { disabled: true },
      showDeveloperTools: 'never',
    }),
  );

  let script: Promise<Buffer> | undefined;
  app.get(DOCS_SCRIPT_PATH, async (c) => {
    script ??= readFile(scalarBundlePath());
    return c.body(new Uint8Array(await script), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=3600',
    });
  });
}

/** The standalone browser bundle inside @scalar/api-reference (its exports map does not expose it). */
function scalarBundlePath(): string {
  const entry = createRequire(import.meta.url).resolve('@scalar/api-reference');
  return join(dirname(entry), 'browser', 'standalone.js');
}
