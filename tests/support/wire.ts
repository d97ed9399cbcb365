import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The real HuleEdu wire format as a consumer checks it: the envelope first (`envelope.json`), then
 * `data` against its topic's schema (tests/fixtures/huleedu, generated from the real pydantic
 * models). A topic without a schema is an error: it is a topic no real service knows.
 */

const DIR = new URL('../fixtures/huleedu/', import.meta.url);
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface TopicEntry {
  direction: 'inbound' | 'outbound';
  topic: string;
  model: string;
  schema: string;
}

export const WIRE_TOPICS: TopicEntry[] = JSON.parse(readFileSync(new URL('topics.json', DIR), 'utf8'));

// strict off: pydantic writes keywords ajv does not know (e.g. `title` on $ref siblings is fine, `examples` too).
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const load = (file: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(new URL(file, DIR), 'utf8')));
const envelopeSchema = load('schemas/envelope.json');
const schemaOf = (file: string) => JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as { properties?: Record<string, unknown> };
const dataSchemas = new Map(
  WIRE_TOPICS.map((t) => [t.topic, { ...t, validate: load(t.schema), hasEntityId: 'entity_id' in (schemaOf(t.schema).properties ?? {}) }]),
);

/**
 * The problems a real consumer would have with this envelope; empty when it parses. With the
 * batch it belongs to, also what the real consumers read beyond the model: the batch id from
 * `entity_id` (the model lets it be null; the essay lifecycle service drops a matching command
 * without it), so every body whose model has `entity_id` must carry the batch id there.
 */
export function wireProblems(envelope: unknown, direction?: 'inbound' | 'outbound', batchId?: string): string[] {
  if (!envelopeSchema(envelope)) return envelopeSchema.errors!.map((e) => `envelope${e.instancePath} ${e.message}`);
  const { event_type: topic, data } = envelope as { event_type: string; data: unknown };
  const entry = dataSchemas.get(topic);
  if (!entry) return [`${topic}: no real HuleEdu model has this topic`];
  if (direction && entry.direction !== direction) return [`${topic} is ${entry.direction} for this service, not ${direction}`];
  if (!entry.validate(data)) return entry.validate.errors!.map((e) => `${topic} (${entry.model}) data${e.instancePath} ${e.message}`);
  const entityId = (data as { entity_id?: unknown }).entity_id;
  if (batchId !== undefined && entry.hasEntityId && entityId !== batchId) {
    return [`${topic} (${entry.model}) data.entity_id is ${JSON.stringify(entityId)}, not the batch id the real consumer reads from it`];
  }
  return [];
}

/** Throws when a test is about to post an inbound event the real producers could not have sent. */
export function assertRealInbound<T>(envelope: T): T {
  const problems = wireProblems(envelope, 'inbound');
  if (problems.length > 0) throw new Error(`test fixture is not the real wire format:\n  ${problems.join('\n  ')}`);
  return envelope;
}
