import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The OpenTelemetry SDK, as the real HuleEdu services run it: spans exported over OTLP (to Jaeger
 * or any collector). Off unless an OTLP endpoint is configured with the standard OTEL_* variables;
 * the trace context is propagated in envelope metadata either way (app/tracing.ts).
 */
export function startTracing(otel: { enabled: boolean; serviceName: string }): { tracer: Tracer; shutdown(): Promise<void> } | null {
  if (!otel.enabled) return null;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': otel.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  return { tracer: provider.getTracer('huleedu-phase1'), shutdown: () => provider.shutdown() };
}
