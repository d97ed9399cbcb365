import { type Dispatcher, Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuid } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { type Served, serveHarness } from '../support/served.ts';

/**
 * Item 1 of issue 10: an answer given before the body is read must not poison the pooled
 * keep-alive connection it came on. One pool with ONE connection, so the follow-up requests are
 * sent on the very socket (or its replacement) that carried the early answer.
 */

const BIG = 'x'.repeat(600 * 1024);
const TOO_BIG = 'x'.repeat(2 * 1024 * 1024);

describe('early answers on a pooled keep-alive connection', () => {
  const h = harnessForSuite({ label: 'keepalive' });
  let served: Served;
  let teacher: string;

  beforeAll(async () => {
    served = await serveHarness(h);
    teacher = await h.teacher('teacher-keepalive');
  });
  afterAll(async () => {
    await served?.close();
  });

  /** `use` on a new pool of ONE connection to the served app; the pool is closed after. */
  async function onOneConnection(options: Pool.Options, use: (pool: Pool) => Promise<void>) {
    const pool = new Pool(served.base, { ...options, connections: 1 });
    try {
      await use(pool);
    } finally {
      await pool.close();
    }
  }

  /** The teacher's batch list on `pool`: a 200, its body read so that the connection is free again. */
  async function expectBatchesListed(pool: Pool) {
    const next = await pool.request({ method: 'GET', path: '/v1/batches', headers: { authorization: `Bearer ${teacher}` } });
    expect(next.statusCode).toBe(200);
    await next.body.text();
  }

  /** An early answer: `status`, problem+json with that status in its body (returned, read). */
  async function expectProblem(res: Dispatcher.ResponseData, status: number) {
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    const body = JSON.parse(await res.body.text());
    expect(body).toMatchObject({ status });
    return body;
  }

  const json = { 'content-type': 'application/json' };
  const asTeacher = () => ({ ...json, authorization: `Bearer ${teacher}` });
  const asService = () => ({ ...json, authorization: `Bearer ${h.serviceToken}` });
  const padded = () => JSON.stringify({ pad: BIG });
  /** Early answers, each to a POST to `path` (the events door unless said otherwise) with a body not yet read. */
  const cases: Array<{
    name: string;
    status: number;
    path?: () => string;
    headers: () => Record<string, string>;
    body: () => string | AsyncIterable<Buffer>;
  }> = [
    { name: '401 without a token', status: 401, headers: () => json, body: padded },
    { name: '403 for the wrong kind of caller', status: 403, headers: asTeacher, body: padded },
    { name: '413 by content-length', status: 413, headers: asService, body: () => TOO_BIG },
    {
      name: '413 while streaming a chunked body',
      status: 413,
      headers: asService,
      body: () =>
        (async function* () {
          for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, 'x');
        })(),
    },
    {
      name: '415 for a body that is not JSON',
      status: 415,
      headers: () => ({ 'content-type': 'text/plain', authorization: `Bearer ${h.serviceToken}` }),
      body: () => BIG,
    },
    {
      name: '400 for a bad path parameter',
      status: 400,
      path: () => '/v1/batches/not-a-uuid/cancel',
      headers: asTeacher,
      body: () => JSON.stringify({ reason: BIG }),
    },
    { name: '404 for an unknown route', status: 404, path: () => `/v1/nothing/${uuid()}`, headers: asService, body: padded },
  ];

  for (const c of cases) {
    it(`${c.name}: the answer is problem+json and the next requests on the pool all succeed`, async () => {
      await onOneConnection({ pipelining: 1 }, async (pool) => {
        const early = await pool.request({
          method: 'POST',
          path: c.path?.() ?? '/v1/events',
          headers: c.headers(),
          body: c.body() as never,
        });
        await expectProblem(early, c.status);
        // Sent at once, and again after the server's drain window (500 ms) would have closed the socket.
        for (const pause of [0, 0, 700, 0]) {
          if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
          await expectBatchesListed(pool);
        }
      });
    });
  }

  it('a body the handler read keeps the connection open', async () => {
    await onOneConnection({}, async (pool) => {
      const res = await pool.request({
        method: 'POST',
        path: '/v1/classes',
        headers: asTeacher(),
        body: JSON.stringify({ name: 1 }),
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers.connection).not.toBe('close');
      await res.body.text();
    });
  });

  it('a header block over 16 KiB answers 431 problem+json, and the pool recovers', async () => {
    await onOneConnection({}, async (pool) => {
      const res = await pool.request({
        method: 'GET',
        path: '/v1/batches',
        headers: { authorization: `Bearer ${teacher}`, 'x-pad': 'y'.repeat(20 * 1024) },
      });
      expect(await expectProblem(res, 431)).toMatchObject({ title: expect.any(String), detail: expect.any(String) });
      await expectBatchesListed(pool);
    });
  });
});
