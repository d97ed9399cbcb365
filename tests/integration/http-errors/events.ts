import { envelope, essays, postEvent, provisioned, suggested } from '../../support/flow.ts';
import { type BadRequest, type BadRequestFixture, TWO_MIB, JSON_HEADERS } from './support.ts';

/** POST /v1/events (service token): malformed and mistyped envelopes, out-of-range values, oversized and non-JSON bodies, wrong credentials. */
export function eventRequests(fx: BadRequestFixture): BadRequest[] {
  const { h } = fx;
  /** A valid provisioning event for the batch still awaiting content: it would apply if let through. */
  const validProvision = () => provisioned(fx.registeredBatch, essays(2));
  /** A valid suggestion event for the provisioned batch: it would apply if let through. */
  const validSuggestions = () =>
    suggested(
      fx.suggestingBatch.batchId,
      fx.klassA.classId,
      fx.suggestingBatch.list.map((essay, i) => ({ essay, student_id: fx.klassA.students[i]!.student_id, score: 0.9 })),
    );
  const withData = (event: ReturnType<typeof envelope>, patch: Record<string, unknown>) => ({
    ...event,
    data: { ...event.data, ...patch },
  });
  return [
    {
      name: 'events: malformed JSON',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '{"event_id": "', headers: JSON_HEADERS }),
    },
    {
      name: 'events: empty JSON body',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '', headers: JSON_HEADERS }),
    },
    {
      name: 'events: JSON null',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: 'null', headers: JSON_HEADERS }),
    },
    {
      name: 'events: a JSON string instead of an object',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: '"huleedu.batch.content.provisioning.completed.v1"', headers: JSON_HEADERS }),
    },
    {
      name: 'events: deeply nested arrays',
      status: 400,
      send: () => h.api('POST', '/v1/events', { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, headers: JSON_HEADERS }),
    },
    {
      name: 'events: a count as a string (wrong type)',
      status: 400,
      paths: ['data.provisioned_count'],
      send: () => postEvent(h, withData(validProvision(), { provisioned_count: '2' })),
    },
    {
      name: 'events: data as a string (wrong type)',
      status: 400,
      paths: ['data'],
      send: () => postEvent(h, { ...validProvision(), data: 'batch' }),
    },
    {
      name: 'events: event_id as a number (wrong type)',
      status: 400,
      paths: ['event_id'],
      send: () => postEvent(h, { ...validProvision(), event_id: 42 }),
    },
    {
      name: 'events: event_timestamp not a date',
      status: 400,
      paths: ['event_timestamp'],
      send: () => postEvent(h, { ...validProvision(), event_timestamp: 'yesterday' }),
    },
    {
      name: 'events: unknown event_type',
      status: 400,
      paths: ['event_type'],
      send: () => postEvent(h, { ...validProvision(), event_type: 'huleedu.batch.something.else.v1' }),
    },
    {
      name: 'events: event_type as a number',
      status: 400,
      paths: ['event_type'],
      send: () => postEvent(h, { ...validProvision(), event_type: 7 }),
    },
    {
      name: 'events: a confidence_score of 1.5',
      status: 400,
      paths: ['data.match_results.0.suggestions.0.confidence_score'],
      send: () => {
        const event = validSuggestions();
        (event.data as any).match_results[0].suggestions[0].confidence_score = 1.5;
        return postEvent(h, event);
      },
    },
    {
      name: 'events: a negative confidence_score',
      status: 400,
      paths: ['data.match_results.1.suggestions.0.confidence_score'],
      send: () => {
        const event = validSuggestions();
        (event.data as any).match_results[1].suggestions[0].confidence_score = -0.1;
        return postEvent(h, event);
      },
    },
    {
      name: 'events: a non-UUID batch_id',
      status: 400,
      paths: ['data.batch_id'],
      send: () => postEvent(h, withData(validProvision(), { batch_id: 'batch-1' })),
    },
    {
      name: 'events: an unknown course_code',
      status: 400,
      paths: ['data.course_code'],
      send: () => postEvent(h, withData(validProvision(), { course_code: 'ENG9' })),
    },
    {
      name: 'events: a 2 MiB body',
      status: 413,
      send: () => postEvent(h, { ...validProvision(), metadata: { padding: 'x'.repeat(TWO_MIB) } }),
    },
    {
      name: 'events: text/plain',
      status: 415,
      send: () => h.api('POST', '/v1/events', { raw: JSON.stringify(validProvision()), headers: { 'content-type': 'text/plain' } }),
    },
    {
      name: 'events: a form body',
      status: 415,
      send: () => h.api('POST', '/v1/events', { raw: 'event_id=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    },
    {
      name: 'events: no token',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: null, body: validProvision() }),
    },
    {
      name: 'events: a token that is neither the service token nor a JWT',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: 'svc_guessed', body: validProvision() }),
    },
    {
      name: 'events: Basic authorization',
      status: 401,
      send: () => h.api('POST', '/v1/events', { token: null, body: validProvision(), headers: { authorization: 'Basic c3ZjOnN2Yw==' } }),
    },
    {
      name: 'events: a teacher token (service-only route)',
      status: 403,
      send: () => h.api('POST', '/v1/events', { ...fx.asA(), body: validProvision() }),
    },
  ];
}
