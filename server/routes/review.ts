import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { type Context, Hono } from 'hono';
import type { OperatorNumbers } from '../../app/review-reads.ts';
import { type AuthEnv, requireCaller } from '../auth.ts';
import { answer, asService, documented } from '../documented.ts';
import { callerErrors, problems } from '../openapi-problems.ts';

const WEB_DIR = fileURLToPath(new URL('../../web/review/', import.meta.url));
export const REVIEW_PATH = '/review';

export interface ReviewOptions {
  /** Development only: the teachers `npm start` prints, offered on the sign-in view. */
  developmentTeachers?: () => Promise<Array<{ teacher_id: string; token: string }>>;
  /** What "stuck" means, shown beside the operator numbers. */
  stuckAfterMs: number;
  operatorNumbers: () => Promise<OperatorNumbers>;
}

/**
 * The page's script, bundled from web/review/*.ts by esbuild (an exact-pinned dependency) on the
 * first request and kept: nothing is built by hand and nothing is fetched from elsewhere.
 */
async function bundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [`${WEB_DIR}main.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    write: false,
    legalComments: 'none',
  });
  return result.outputFiles[0]!.text;
}

const OperatorNumbersView = z
  .strictObject({
    deadlines_overdue: z.number().int().nonnegative().openapi({ description: 'Deadlines due and not yet applied.' }),
    batches_stuck: z
      .number()
      .int()
      .nonnegative()
      .openapi({ description: 'Batches waiting for another service longer than `stuck_after_ms`.' }),
    stuck_after_ms: z.number().int().positive(),
    oldest_unpublished_outbox_age_seconds: z.number().nonnegative().openapi({ description: '0 when every outbox row is published.' }),
  })
  .openapi('OperatorNumbers', {
    example: { deadlines_overdue: 0, batches_stuck: 1, stuck_after_ms: 3_600_000, oldest_unpublished_outbox_age_seconds: 2.5 },
  });

const numbersRoute = createRoute({
  method: 'get',
  path: '/v1/operations/numbers',
  tags: ['Operations'],
  summary: "The operators' three numbers",
  description:
    'The same figures as the gauges `huleedu_deadlines_overdue`, `huleedu_batches_stuck` and `huleedu_outbox_oldest_unpublished_age_seconds` on `/metrics`.',
  security: asService,
  responses: {
    200: answer('Right now.', OperatorNumbersView),
    ...problems([400, ...callerErrors]),
  },
});

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 ("::ffff:127.0.0.1"). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.replace(/^::ffff:/i, '');
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

/**
 * A request from this machine itself: the socket's peer is a loopback address and no proxy says it
 * forwarded someone else's request. Without a socket (app.request in tests) the answer is no.
 */
function fromThisMachine(c: Context): boolean {
  if (c.req.header('forwarded') !== undefined || c.req.header('x-forwarded-for') !== undefined) return false;
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return isLoopbackAddress(env?.incoming?.socket?.remoteAddress);
}

/** The review page (public files: the data comes from the API with the token pasted in). */
export function reviewPages(options: ReviewOptions) {
  const app = new Hono();
  let script: Promise<string> | undefined;
  const file = (name: string, type: string) => async () =>
    new Response(await readFile(`${WEB_DIR}${name}`), { headers: { 'content-type': type, 'cache-control': 'no-cache' } });

  // A browser asking for the root gets the page; API clients get where things are.
  app.get('/', (c) =>
    /text\/html/.test(c.req.header('accept') ?? '')
      ? c.redirect(REVIEW_PATH, 302)
      : c.json({ review: REVIEW_PATH, docs: '/docs', openapi: '/openapi.json', visualizations: '/visualizations' }),
  );
  app.get(REVIEW_PATH, file('index.html', 'text/html; charset=utf-8'));
  app.get(`${REVIEW_PATH}/review.css`, file('review.css', 'text/css; charset=utf-8'));
  app.get(`${REVIEW_PATH}/app.js`, async () => {
    script ??= bundle().catch((error: unknown) => {
      script = undefined;
      throw error;
    });
    return new Response(await script, { headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' } });
  });
  app.get(`${REVIEW_PATH}/config.json`, async (c) =>
    c.json({
      // Development tokens sign anyone in: they go only to a browser on this machine.
      development_teachers: options.developmentTeachers && fromThisMachine(c) ? await options.developmentTeachers() : [],
      stuck_after_ms: options.stuckAfterMs,
    }),
  );
  return app;
}

export function operatorRoutes(options: ReviewOptions) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, numbersRoute, requireCaller('service'), async (c) => c.json(await options.operatorNumbers()));
  return app;
}
