import type { Context } from 'hono';
import { type TraceCarrier, carrierOf } from '../app/tracing.ts';

/** The W3C trace context of an HTTP request (`traceparent`, `tracestate` headers), if it has one. */
export function traceOfRequest(c: Context): TraceCarrier | undefined {
  return carrierOf({ traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') });
}
