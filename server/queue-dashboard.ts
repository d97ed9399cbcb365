import { timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono, MiddlewareHandler } from 'hono';
import { problem } from './problem.ts';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The secret a request presents: a Bearer token, or the password of HTTP Basic credentials. */
function presentedSecret(header: string | undefined): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

/**
 * The service token guards the dashboard. A browser cannot attach a Bearer header to a page and
 * its assets, so HTTP Basic with the token as password is accepted too, and a 401 asks for it.
 */
function requireServiceToken(serviceToken: string): MiddlewareHandler {
  return async (c, next) => {
    const secret = presentedSecret(c.req.header('authorization'));
    if (secret !== null && sameSecret(secret, serviceToken)) return next();
    c.header('WWW-Authenticate', 'Basic realm="huleedu queues", charset="UTF-8"');
    return problem(c, {
      status: 401,
      title: 'Unauthorized',
      detail: 'Send Authorization: Bearer <service token>, or HTTP Basic with the service token as password.',
    });
  };
}

/**
 * bull-board's page links Google's font CDN; the service loads nothing from outside, so the link
 * goes and its CSS falls back to the system sans-serif and monospace fonts it names next.
 */
const withoutExternalFonts: MiddlewareHandler = async (c, next) => {
  await next();
  if (!/text\/html/.test(c.res.headers.get('content-type') ?? '')) return;
  const html = await c.res.text();
  const headers = new Headers(c.res.headers);
  headers.delete('content-length');
  c.res = new Response(html.replace(/<link[^>]+fonts\.(?:googleapis|gstatic)\.com[^>]*>\s*/gi, ''), { status: c.res.status, headers });
};

/** bull-board over the given BullMQ queues (read-only unless `readOnly: false`) at /admin/queues; its assets come from @bull-board/ui on disk. */
export function mountQueueDashboard(app: Hono<any>, options: { queues: Queue[]; serviceToken: string; readOnly?: boolean }): void {
  const adapter = new HonoAdapter(serveStatic).setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    // Read-only unless configured otherwise: a "Promote" on a deadline job would otherwise ask for
    // the timeout a day early (the application layer refuses it, but the buttons invite the mistake).
    queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: options.readOnly ?? true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'huleedu queues' } },
  });
  const guard = requireServiceToken(options.serviceToken);
  app.use(QUEUE_DASHBOARD_PATH, guard);
  app.use(`${QUEUE_DASHBOARD_PATH}/*`, guard);
  app.use(QUEUE_DASHBOARD_PATH, withoutExternalFonts);
  app.use(`${QUEUE_DASHBOARD_PATH}/*`, withoutExternalFonts);
  app.route(QUEUE_DASHBOARD_PATH, adapter.registerPlugin());
}
