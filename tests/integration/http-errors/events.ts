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
  /** A body sent to the door as it stands, as JSON, that is no envelope at all. */
  const rawJson = (name: string, raw: string): BadRequest => ({
    name,
    status: 400,
    send: () => h.api('POST', '/v1/events', { raw, headers: JSON_HEADERS }),
  });
  /** The valid provisioning event with one envelope field (`data` for the payload) set to `value`: a 400 naming it. */
  const envelopeField = (name: string, field: string, value: unknown): BadRequest => ({
    name,
    status: 400,
    paths: [field],
    send: () => postEvent(h, { ...validProvision(), [field]: value }),
  });
  /** The same with one field of its `data` set to `value`. */
  const dataField = (name: string, field: string, value: unknown): BadRequest => ({
    name,
    status: 400,
    paths: [`data.${field}`],
    send: () => {
      const event = validProvision();
      return postEvent(h, { ...event, data: { ...event.data, [field]: value } });
    },
  });
  /** The valid suggestion event with the first suggestion for match `match` scored `score`, out of [0, 1]. */
  const confidence = (name: string, match: number, score: number): BadRequest => ({
    name,
    status: 400,
    paths: [`data.match_results.${match}.suggestions.0.confidence_score`],
    send: () => {
      const event = validSuggestions();
      (event.data as any).match_results[match].suggestions[0].confidence_score = score;
      return postEvent(h, event);
    },
  });
  return [
    rawJson('events: malformed JSON', '{"event_id": "'),
    rawJson('events: empty JSON body', ''),
    rawJson('events: JSON null', 'null'),
    rawJson('events: a JSON string instead of an object', '"huleedu.batch.content.provisioning.completed.v1"'),
    rawJson('events: deeply nested arrays', `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    dataField('events: a count as a string (wrong type)', 'provisioned_count', '2'),
    envelopeField('events: data as a string (wrong type)', 'data', 'batch'),
    envelopeField('events: event_id as a number (wrong type)', 'event_id', 42),
    envelopeField('events: event_timestamp not a date', 'event_timestamp', 'yesterday'),
    envelopeField('events: unknown event_type', 'event_type', 'huleedu.batch.something.else.v1'),
    envelopeField('events: event_type as a number', 'event_type', 7),
    confidence('events: a confidence_score of 1.5', 0, 1.5),
    confidence('events: a negative confidence_score', 1, -0.1),
    dataField('events: a non-UUID batch_id', 'batch_id', 'batch-1'),
    dataField('events: an unknown course_code', 'course_code', 'ENG9'),
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
