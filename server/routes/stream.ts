import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { Service } from '../../app/service.ts';
import type { BatchStreams } from '../../app/stream.ts';
import { type AuthEnv, requireCaller, teacherId } from '../auth.ts';
import { asTeacher, documented } from '../documented.ts';
import { Problem, callerErrors, problems } from '../openapi-problems.ts';
import { notFound, problem, validationProblem } from '../problem.ts';
import { BatchParams } from '../schemas.ts';
import { batchParams } from './batch-commands.ts';

/** Browsers and our page reconnect after this long when a stream drops. */
const RETRY_MS = 1000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

const Cursor = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const streamRoute = createRoute({
  method: 'get',
  path: '/v1/batches/{batch_id}/stream',
  tags: ['Batches'],
  summary: "A batch's live updates (Server-Sent Events)",
  description: [
    'A `text/event-stream` of what has committed for this batch, from any API process on the same database.',
    'Two kinds of message:',
    '- `event: history`: one audit row (as in `GET /v1/batches/{batch_id}/history`); `id` is its `seq`.',
    '- `event: batch`: `{batch, associations}`, the read model as `GET /v1/batches/{batch_id}` and `…/student-associations` answer it, sent first and after every new history row; `id` is the newest `seq` sent.',
    "Resume with the `Last-Event-ID` header (or `?after=`): rows after it come, and the batch's newest few rows may come again (a late-committing refusal is never lost), so readers drop `seq`s they already have.",
    "Same ownership rule as every teacher route: another teacher's batch answers 404. The stream ends when the service shuts down; reconnect then.",
  ].join('\n\n'),
  security: asTeacher,
  request: {
    params: BatchParams,
    query: z.object({ after: Cursor.optional().openapi({ description: 'Like `Last-Event-ID`, for clients that cannot set headers.' }) }),
    headers: z.object({
      'last-event-id': Cursor.optional().openapi({ description: 'The last `id` received; the stream resumes after it.' }),
    }),
  },
  responses: {
    200: {
      description: 'The event stream.',
      content: {
        'text/event-stream': {
          schema: z.string().openapi({
            example:
              'event: history\ndata: {"seq":41,"event_type":"huleedu.batch.author.matches.suggested.v1",…}\nid: 41\n\nevent: batch\ndata: {"batch":{…},"associations":[…]}\nid: 41\n\n',
          }),
        },
      },
    },
    ...problems([400, ...callerErrors, 404]),
    503: {
      description: 'The service is shutting down; reconnect (to another process).',
      content: { 'application/problem+json': { schema: Problem } },
    },
  },
});

export function streamRoutes(service: Service, streams: BatchStreams) {
  const app = new OpenAPIHono<AuthEnv>();
  documented(app, streamRoute, requireCaller('teacher'), async (c) => {
    const params = batchParams(c);
    if (!params.ok) return params.response;
    const given = c.req.header('last-event-id') ?? c.req.query('after');
    const cursor = given === undefined || given === '' ? { success: true as const, data: 0 } : Cursor.safeParse(given);
    if (!cursor.success) return validationProblem(c, [{ path: 'headers.last-event-id', message: 'must be a non-negative integer' }]);
    const owner = teacherId(c);
    if (!(await service.getBatch(owner, params.data.batch_id))) return notFound(c, `Batch ${params.data.batch_id}`);
    if (streams.closed) return problem(c, { status: 503, title: 'Draining', detail: 'The service is shutting down; reconnect.' });
    return streamSSE(c, async (stream) => {
      const reader: { aborted: boolean; wake?: () => void } = { aborted: false };
      stream.onAbort(() => {
        reader.aborted = true;
        reader.wake?.();
      });
      const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => {}), HEARTBEAT_MS);
      try {
        await stream.writeSSE({ data: '', event: 'hello', retry: RETRY_MS });
        for await (const message of streams.follow(owner, params.data.batch_id, cursor.data, reader)) {
          await stream.writeSSE({ event: message.event, id: String(message.id), data: JSON.stringify(message.data) });
        }
      } finally {
        clearInterval(heartbeat);
      }
    });
  });
  return app;
}
