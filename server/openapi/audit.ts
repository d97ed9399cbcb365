import { z } from '@hono/zod-openapi';
import { EXAMPLE, count, uuid } from './common.ts';

const AuditEvent = {
  seq: z.number().int().positive().openapi({ description: "The history row's `seq`." }),
  event_type: z.string().openapi({ description: "The history row's event type, as `GET /v1/batches/{batch_id}/history` shows it." }),
  event_id: z.string().nullable(),
};

const Difference = z
  .strictObject({
    ...AuditEvent,
    table: z.enum(['history', 'outbox', 'batch_snapshot', 'batch_row', 'association_row', 'association_snapshot', 'replay']).openapi({
      description:
        'What differs: a history or outbox row, the batch snapshot or projection row, an association row or snapshot; `replay`: the machine could not take the kept input.',
    }),
    key: z.string().optional().openapi({ description: "Which row: an association's essay id, an outbox row's seq." }),
    field: z.string().openapi({ description: 'A path into the row, e.g. `context.association_counts.pending`.' }),
    expected: z.unknown().openapi({ description: 'What the replay wrote.' }),
    stored: z.unknown().openapi({ description: 'What is stored.' }),
  })
  .openapi('AuditDifference');

const example = {
  batch_id: EXAMPLE.batchId,
  ok: false,
  result: 'diverged',
  events: 7,
  first_divergence: { seq: 41, event_type: 'TEACHER_DECISIONS', event_id: 'cmd-confirm-1' },
  differences: [
    {
      seq: 41,
      event_type: 'TEACHER_DECISIONS',
      event_id: 'cmd-confirm-1',
      table: 'association_row',
      key: EXAMPLE.essayId,
      field: 'validated_by',
      expected: 'teacher-a',
      stored: 'someone-else',
    },
  ],
};

export const AuditReport = z
  .union([
    z.strictObject({ batch_id: uuid, ok: z.literal(true), result: z.literal('reproduced'), events: count }),
    z.strictObject({
      batch_id: uuid,
      ok: z.literal(false),
      result: z.literal('diverged'),
      events: count,
      first_divergence: z.strictObject(AuditEvent),
      differences: z.array(Difference).openapi({ description: 'The earliest 20 differences, earliest history row first.' }),
    }),
    z.strictObject({
      batch_id: uuid,
      ok: z.literal(false),
      result: z.literal('unverifiable'),
      events: count,
      first_unreplayable: z.strictObject(AuditEvent),
      reason: z.string(),
    }),
  ])
  .openapi('AuditReport', { example });
