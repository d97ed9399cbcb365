import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { answerClientErrors } from '../../server/client-errors.ts';
import type { Harness } from './harness.ts';

export interface Served {
  base: string;
  server: Server;
  close(): Promise<void>;
}

/** The harness's app on a real socket, as `npm start` serves it, for tests of connection behaviour. */
export async function serveHarness(h: Harness, options: { serverOptions?: Record<string, unknown> } = {}): Promise<Served> {
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1', serverOptions: options.serverOptions }, () =>
      resolve(s as Server),
    ) as Server;
  });
  answerClientErrors(server);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
