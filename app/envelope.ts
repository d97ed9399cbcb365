import { randomUUID } from 'node:crypto';
import type { OutboxMessage } from '../db/transition-types.ts';
import type { TraceCarrier } from './tracing.ts';

export const SOURCE_SERVICE = 'huleedu-phase1-state-service';

/** Whose event it is, for the envelope's metadata, as the real producers fill it. */
export interface EnvelopeFacts {
  batch_id: string;
  owner_id: string;
  class_id: string | null;
  correlation_id: string;
  /** The registration's organisation: the real orchestrator puts it in every command's metadata (credit attribution). */
  org_id?: string | null;
}

/**
 * One outbox row: the EventEnvelope a real consumer parses first, with the metadata the real
 * producers set (user, batch, class, partition key = batch id, so a batch's events stay in order
 * on one partition) and the W3C trace context of the transition that caused it.
 */
export function outboxEnvelope(
  topic: string,
  data: unknown,
  facts: EnvelopeFacts,
  at: string,
  trace: TraceCarrier | undefined,
): OutboxMessage {
  return envelopeRow(topic, data, facts.correlation_id, at, {
    user_id: facts.owner_id,
    ...(facts.org_id ? { org_id: facts.org_id } : {}),
    batch_id: facts.batch_id,
    ...(facts.class_id === null ? {} : { class_id: facts.class_id }),
    partition_key: facts.batch_id,
    ...trace,
  });
}

/**
 * An outbox row about a class, not a batch (class events and class notifications): the metadata
 * names the teacher and the class, and the class is the partition key, so a class's events stay in
 * order on one partition.
 */
export function classEnvelope(
  topic: string,
  data: unknown,
  facts: { class_id: string; owner_id: string; correlation_id: string },
  at: string,
): OutboxMessage {
  return envelopeRow(topic, data, facts.correlation_id, at, {
    user_id: facts.owner_id,
    class_id: facts.class_id,
    partition_key: facts.class_id,
  });
}

/** The EventEnvelope every outbox row carries, with a fresh event id; the metadata says whose event it is. */
function envelopeRow(topic: string, data: unknown, correlationId: string, at: string, metadata: Record<string, unknown>): OutboxMessage {
  const eventId = randomUUID();
  return {
    event_id: eventId,
    topic,
    correlation_id: correlationId,
    envelope: {
      event_id: eventId,
      event_type: topic,
      event_timestamp: at,
      source_service: SOURCE_SERVICE,
      schema_version: 1,
      correlation_id: correlationId,
      data_schema_uri: null,
      data,
      metadata,
    },
  };
}
