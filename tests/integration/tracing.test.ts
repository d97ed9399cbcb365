import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { TOPICS } from '../../machines/events.ts';
import { startTracing } from '../../ops/tracing.ts';
import { TEST_TRACE_ID, TEST_TRACEPARENT, envelope, essays, outboxEvents } from '../support/flow.ts';
import { postEvent, provisioned, registerBatch, registeredClassBatch } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { assertRealInbound } from '../support/wire.ts';

const traceIdOf = (traceparent: string) => traceparent.split('-')[1];
const spanIdOf = (traceparent: string) => traceparent.split('-')[2];

describe('W3C trace context and OpenTelemetry spans', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const h = harnessForSuite({ label: 'tracing', tracer: provider.getTracer('test') });
  afterAll(async () => {
    await provider.shutdown();
  });

  it("continues an inbound event's trace through the transition into the metadata of every event it emits", async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId } = await registeredClassBatch(h, teacher, { students: 1 });
    exporter.reset();
    const event = provisioned(batchId, essays(1)); // carries TEST_TRACEPARENT in its metadata
    expect((event as { metadata?: { traceparent?: string } }).metadata?.traceparent).toBe(TEST_TRACEPARENT);
    expect((await postEvent(h, event)).status).toBe(200);

    const [command] = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
    const metadata = command!.envelope.metadata;
    expect(metadata).toMatchObject({ user_id: 'teacher-a', batch_id: batchId, class_id: klass.classId, partition_key: batchId });
    expect(traceIdOf(metadata.traceparent)).toBe(TEST_TRACE_ID);

    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe('batch.apply');
    expect(span.spanContext().traceId).toBe(TEST_TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(spanIdOf(TEST_TRACEPARENT));
    // The consumer of the command continues from this span, not from the producer's.
    expect(spanIdOf(metadata.traceparent)).toBe(span.spanContext().spanId);
    expect(span.attributes).toMatchObject({
      'huleedu.batch_id': batchId,
      'huleedu.outcome': 'applied',
      'huleedu.event_type': TOPICS.contentProvisioned,
      'huleedu.to_state': 'awaiting_student_validation.awaiting_suggestions',
    });
  });

  it("continues an HTTP request's traceparent header, for teacher commands and registration", async () => {
    const teacher = await h.teacher('teacher-a');
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const header = { traceparent: `00-${traceId}-b7ad6b7169203331-01`, tracestate: 'huleedu=1' };
    const created = await h.api('POST', '/v1/batches', {
      token: teacher,
      body: { course_code: 'ENG5', expected_essay_count: 1 },
      headers: header,
    });
    const batchId = created.body.batch_id as string;
    await postEvent(h, assertRealInbound(envelope(TOPICS.contentProvisioned, provisioned(batchId, essays(1)).data))); // no trace of its own
    exporter.reset();
    const started = await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' }, headers: header });
    expect(started.status).toBe(202);
    const mine = (await outboxEvents(h)).filter((e) => e.batch_id === batchId);
    const registered = mine.find((e) => e.topic === TOPICS.essaysRegistered)!;
    const spellcheck = mine.find((e) => e.topic === TOPICS.spellcheckCommand)!;
    expect(traceIdOf(registered.envelope.metadata.traceparent)).toBe(traceId);
    expect(traceIdOf(spellcheck.envelope.metadata.traceparent)).toBe(traceId);
    expect(spellcheck.envelope.metadata.tracestate).toBe('huleedu=1');
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.spanContext().traceId])).toEqual([['batch.apply', traceId]]);
  });

  it('starts a new trace for an event that carries none, and still puts it into the metadata', async () => {
    const teacher = await h.teacher('teacher-a');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    await postEvent(h, assertRealInbound(envelope(TOPICS.contentProvisioned, provisioned(batchId, essays(1)).data)));
    exporter.reset();
    await h.api('POST', `/v1/batches/${batchId}/pipelines`, { token: teacher, body: { pipeline: 'nlp' } });
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    const spellcheck = (await outboxEvents(h, TOPICS.spellcheckCommand)).find((e) => e.batch_id === batchId)!;
    expect(traceIdOf(spellcheck.envelope.metadata.traceparent)).toBe(span!.spanContext().traceId);
  });
});

describe('OpenTelemetry configuration', () => {
  it('is off when no OTEL_* variable is set, and on with an OTLP endpoint', () => {
    expect(loadConfig({}).otel.enabled).toBe(false);
    expect(startTracing(loadConfig({}).otel)).toBeNull();
    const on = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'state' });
    expect(on.otel).toEqual({ enabled: true, serviceName: 'state' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }).otel.enabled).toBe(false);
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces', OTEL_TRACES_EXPORTER: 'none' }).otel.enabled,
    ).toBe(false);
  });

  it('builds an SDK tracer that records spans when enabled', async () => {
    const tracing = startTracing({ enabled: true, serviceName: 'state' })!;
    const span = tracing.tracer.startSpan('probe');
    expect(span.isRecording()).toBe(true);
    // Not ended: nothing is queued for export, so shutting down does not wait on an endpoint nobody runs here.
    await tracing.shutdown();
  });
});

describe('without an SDK', () => {
  const h = harnessForSuite({ label: 'tracing_off' });

  it("still passes the producer's trace context on unchanged", async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId } = await registeredClassBatch(h, teacher, { students: 1 });
    await postEvent(h, provisioned(batchId, essays(1)));
    const [command] = (await outboxEvents(h, TOPICS.studentMatchingCommand)).filter((e) => e.batch_id === batchId);
    expect(command!.envelope.metadata.traceparent).toBe(TEST_TRACEPARENT);
  });
});
