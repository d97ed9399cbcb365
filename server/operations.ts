import type { Queue } from 'bullmq';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { PinoLogger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { type AppliedEventLog, collectApplications } from '../ops/observe.ts';
import type { AuthEnv } from './auth.ts';
import { mountQueueDashboard } from './queue-dashboard.ts';

export interface OperationsOptions {
  logger: PinoLogger;
  metrics: Metrics;
  /** With Redis: the BullMQ dashboard at /admin/queues, behind the service token. */
  dashboard?: { queues: Queue[]; serviceToken: string; readOnly?: boolean };
}

/**
 * The route pattern that answered, never the raw path: ids in paths would make a metric series
 * per batch. Requests no route matched share one label.
 */
function routeLabel(c: Context): string {
  const pattern = routePath(c);
  return pattern === '*' || pattern === '/*' ? 'unmatched' : pattern;
}

/** One application's fields, flat when the request made exactly one (the usual case). */
function eventFields(events: AppliedEventLog[], requestCorrelation: string) {
  if (events.length === 0) return { correlation_id: requestCorrelation };
  if (events.length > 1) return { correlation_id: requestCorrelation, events };
  const { correlation_id: eventCorrelation, duration_ms, ...event } = events[0]!;
  // An envelope's correlation id names the business flow; keep the header's too when they differ.
  const correlation =
    eventCorrelation && eventCorrelation !== requestCorrelation
      ? { correlation_id: eventCorrelation, request_correlation_id: requestCorrelation }
      : { correlation_id: requestCorrelation };
  return { ...correlation, ...event, apply_duration_ms: duration_ms };
}

/** One log line and one histogram sample per request, with the events it applied. */
export function observeRequests(options: OperationsOptions): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const started = performance.now();
    const events = await collectApplications(next);
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(c);
    const status = c.res.status;
    options.metrics.httpRequestDuration.observe({ method: c.req.method, route, status: String(status) }, seconds);
    const line = {
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      duration_ms: Math.round(seconds * 10_000) / 10,
      ...eventFields(events, c.get('correlationId')),
    };
    if (status >= 500) options.logger.error(line, 'request');
    else options.logger.info(line, 'request');
  };
}

/**
 * Prometheus text format. Unauthenticated, like most scrape targets inside a cluster: it holds
 * counts by state and route, no ids and no personal data. Keep it off the public ingress.
 */
export function metricsEndpoint(metrics: Metrics): MiddlewareHandler {
  return async (c) => c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
}

/** Mounts the operator surface on the HTTP app, before the API routes (see HttpOptions.operations). */
export function operations(options: OperationsOptions): (app: Hono<AuthEnv>) => void {
  return (app) => {
    app.use('*', observeRequests(options));
    app.get('/metrics', metricsEndpoint(options.metrics));
    if (options.dashboard) mountQueueDashboard(app, options.dashboard);
  };
}
