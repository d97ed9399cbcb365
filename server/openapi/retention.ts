import { z } from '@hono/zod-openapi';
import { EXAMPLE, count, instant, uuid } from './common.ts';

/** The retention report: what a purge erased (or, in a dry run, would erase), per batch and table. */

const RetentionRows = z
  .strictObject({
    actor_snapshots: count,
    association_snapshots: count,
    essay_student_associations: count,
    essay_slots: count,
    history: count,
    outbox: count,
    processed_events: count,
  })
  .openapi('RetentionRows', { description: 'Rows whose personal data was pseudonymised, per table.' });

/** The example's one purged batch, so its rows are also the totals. */
const EXAMPLE_ROWS = {
  actor_snapshots: 0,
  association_snapshots: 3,
  essay_student_associations: 3,
  essay_slots: 3,
  history: 1,
  outbox: 4,
  processed_events: 0,
};

export const RetentionReport = z
  .strictObject({
    dry_run: z.boolean(),
    retention_days: z.number().int().positive(),
    cutoff: instant.openapi({ description: 'Finished batches last changed before this were purged.' }),
    at: instant,
    batches: z.array(
      z.strictObject({
        batch_id: uuid,
        state: z.string(),
        last_changed_at: instant,
        rows: RetentionRows,
      }),
    ),
    totals: RetentionRows,
    remaining: count.openapi({ description: 'Batches due for a purge beyond `limit`, left for the next pass.' }),
  })
  .openapi('RetentionReport', {
    example: {
      dry_run: false,
      retention_days: 365,
      cutoff: '2025-03-02T09:15:00.000Z',
      at: EXAMPLE.at,
      batches: [
        {
          batch_id: EXAMPLE.batchId,
          state: 'cancelled',
          last_changed_at: '2025-01-10T08:00:00.000Z',
          rows: EXAMPLE_ROWS,
        },
      ],
      totals: EXAMPLE_ROWS,
      remaining: 0,
    },
  });
