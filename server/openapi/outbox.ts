import { z } from '@hono/zod-openapi';
import { TOPICS, TOPIC_MODELS } from '../../machines/events.ts';
import { uuid, instant, count, EXAMPLE } from './common.ts';

/** The outbox page: what this service emitted, in the real HuleEdu envelope. */

const OutboundEnvelope = z
  .strictObject({
    event_id: uuid,
    event_type: z.string(),
    event_timestamp: instant,
    source_service: z.string(),
    schema_version: z.number().int().positive(),
    correlation_id: uuid,
    data_schema_uri: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    metadata: z
      .looseObject({
        user_id: z.string(),
        batch_id: uuid.optional().openapi({ description: 'Absent on class-level events (class notifications).' }),
        class_id: uuid.optional(),
        partition_key: z.string().openapi({ description: 'The batch id, or the class id for class-level events.' }),
        traceparent: z.string().optional(),
        tracestate: z.string().optional(),
      })
      .openapi({ description: 'As the real producers fill it; `traceparent`/`tracestate` continue the W3C trace of the cause.' }),
  })
  .openapi('OutboundEnvelope', {
    description: `The real HuleEdu EventEnvelope. Topics and their models: ${Object.entries(TOPIC_MODELS)
      .map(([topic, model]) => `\`${topic}\` (${model})`)
      .join(', ')}.`,
  });

export const OutboxPage = z
  .strictObject({
    events: z.array(
      z.strictObject({
        seq: count,
        topic: z.string().openapi({ example: TOPICS.associationsConfirmed }),
        event_id: uuid,
        batch_id: uuid.nullable().openapi({ description: 'Null for class-level events (class notifications).' }),
        created_at: instant,
        envelope: OutboundEnvelope,
      }),
    ),
    next_after: count.openapi({ description: 'Pass as `after` to get the next page.' }),
  })
  .openapi('OutboxPage', {
    example: {
      events: [
        {
          seq: 7,
          topic: TOPICS.studentMatchingCommand,
          event_id: EXAMPLE.eventId,
          batch_id: EXAMPLE.batchId,
          created_at: EXAMPLE.at,
          envelope: {
            event_id: EXAMPLE.eventId,
            event_type: TOPICS.studentMatchingCommand,
            event_timestamp: EXAMPLE.at,
            source_service: 'huleedu-phase1-state-service',
            schema_version: 1,
            correlation_id: EXAMPLE.correlationId,
            data_schema_uri: null,
            data: {
              event_name: 'batch.student.matching.initiate.command',
              entity_id: EXAMPLE.batchId,
              entity_type: 'batch',
              parent_id: null,
              timestamp: EXAMPLE.at,
              essays_to_process: [{ essay_id: EXAMPLE.essayId, text_storage_id: 'storage-1' }],
              class_id: EXAMPLE.classId,
              course_code: 'ENG5',
            },
            metadata: {
              user_id: 'teacher-a',
              batch_id: EXAMPLE.batchId,
              class_id: EXAMPLE.classId,
              partition_key: EXAMPLE.batchId,
              traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            },
          },
        },
      ],
      next_after: 7,
    },
  });
