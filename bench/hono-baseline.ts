import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type postgres from 'postgres';
import { p2Statement } from './postgres-baselines.ts';

export interface HttpServerHandle {
  origin: string;
  close(): Promise<void>;
}

/** Serves a Hono app on a free loopback port, as the real server is served. */
export function serveOnLoopback(fetch: (request: Request) => Response | Promise<Response>): Promise<HttpServerHandle> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        origin: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as Server).close(() => done());
            (server as Server).closeAllConnections();
          }),
      });
    });
  });
}

/** H: the least an HTTP endpoint over P2 can do — parse the body, run the statement, answer. */
export function startHonoBaseline(sql: postgres.Sql): Promise<HttpServerHandle> {
  const run = p2Statement(sql);
  const app = new Hono().post('/transition', async (c) => {
    const body = (await c.req.json()) as { id: number; from: string; to: string };
    if (!(await run(body.id, body.from, body.to))) return c.json({ error: 'state changed' }, 409);
    return c.json({ id: body.id, state: body.to });
  });
  return serveOnLoopback(app.fetch);
}
