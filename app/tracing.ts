import { type Context, type Span, type Tracer, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * W3C trace context (`traceparent`, `tracestate`) as the real HuleEdu services carry it in
 * `envelope.metadata`, and the span around one applied event. The propagator is used directly, so
 * context flows from an inbound event to the events it causes even when no SDK exports spans.
 */

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (carrier: TraceCarrier) => Object.keys(carrier),
  get: (carrier: TraceCarrier, key: string) => carrier[key as keyof TraceCarrier],
};
const setter = {
  set: (carrier: TraceCarrier, key: string, value: string) => {
    if (key === 'traceparent' || key === 'tracestate') carrier[key] = value;
  },
};

/** The trace context an inbound envelope's metadata or HTTP headers carry; undefined when none. */
export function carrierOf(source: { traceparent?: unknown; tracestate?: unknown } | null | undefined): TraceCarrier | undefined {
  if (!source || typeof source.traceparent !== 'string') return undefined;
  return typeof source.tracestate === 'string'
    ? { traceparent: source.traceparent, tracestate: source.tracestate }
    : { traceparent: source.traceparent };
}

export function contextOf(carrier: TraceCarrier | undefined): Context {
  return carrier ? propagator.extract(ROOT_CONTEXT, carrier, getter) : ROOT_CONTEXT;
}

/** The carrier for events a span causes: its own context, so consumers continue this trace. */
export function carrierFor(span: Span, parent: Context): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagator.inject(trace.setSpan(parent, span), carrier, setter);
  return carrier;
}

/** The default tracer: the global one, a no-op unless an SDK registered itself. */
export const defaultTracer = (): Tracer => trace.getTracer('huleedu-phase1');

/** Runs `body` in a span continuing `carrier`'s trace; `body` gets the carrier for what it emits. */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  carrier: TraceCarrier | undefined,
  attributes: Record<string, string>,
  body: (outbound: TraceCarrier, span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextOf(carrier);
  const span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  try {
    return await body(carrierFor(span, parent), span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}
