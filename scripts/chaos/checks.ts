import type { Ledger } from './load.ts';

/** What the database says about one fault's load, once deadlines and the relay had time to settle. */
export interface Integrity {
  acknowledged: number;
  /** Acknowledged, but processed_events does not have it. */
  lost: number;
  /** Applied more than once (history has it twice). */
  doubled: number;
  deadlinesDue: number;
  deadlinesTwice: number;
  deadlinesNever: number;
  /** Outbox rows the relay never published. */
  unpublished: number;
}

const json = (values: Iterable<string>) => JSON.stringify([...values]);

/** One parameterised statement's rows, on PostgreSQL (postgres.js) or the embedded PGlite. */
export type Query = (text: string, params: unknown[]) => Promise<Array<Record<string, number>>>;

async function measure(query: Query, ledger: Ledger): Promise<Integrity> {
  const ids = json(ledger.acknowledged.keys());
  const batches = json(new Set(ledger.acknowledged.values()));
  const [{ present } = { present: 0 }] = await query(
    'SELECT count(*)::int AS present FROM processed_events WHERE event_id IN (SELECT jsonb_array_elements_text($1::text::jsonb))',
    [ids],
  );
  const [{ doubled } = { doubled: 0 }] = await query(
    `SELECT count(*)::int AS doubled FROM (
       SELECT event_id FROM history
       WHERE outcome = 'applied' AND event_id IS NOT NULL AND batch_id::text IN (SELECT jsonb_array_elements_text($1::text::jsonb))
       GROUP BY event_id HAVING count(*) > 1) d`,
    [batches],
  );
  const timeouts = await query(
    `SELECT a.batch_id, count(h.seq)::int AS fired
     FROM jsonb_array_elements_text($1::text::jsonb) AS a(batch_id)
     LEFT JOIN history h ON h.batch_id::text = a.batch_id AND h.outcome = 'applied' AND h.event_type = 'VALIDATION_TIMEOUT'
     GROUP BY a.batch_id`,
    [json(ledger.abandoned)],
  );
  const [{ unpublished } = { unpublished: 0 }] = await query(
    'SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL',
    [],
  );
  return {
    acknowledged: ledger.acknowledged.size,
    lost: ledger.acknowledged.size - present!,
    doubled: doubled!,
    deadlinesDue: timeouts.length,
    deadlinesTwice: timeouts.filter((t) => (t.fired ?? 0) > 1).length,
    deadlinesNever: timeouts.filter((t) => t.fired === 0).length,
    unpublished: unpublished!,
  };
}

/** Measures until every due deadline fired and the outbox is drained, or `withinMs` passed (then as it stands). */
export async function settledIntegrity(query: Query, ledger: Ledger, withinMs: number, published = true): Promise<Integrity> {
  const until = Date.now() + withinMs;
  let failure: unknown;
  for (;;) {
    const now = await measure(query, ledger).catch((error: unknown) => ((failure = error), null));
    if (now && ((now.deadlinesNever === 0 && (!published || now.unpublished === 0)) || Date.now() > until)) return now;
    if (!now && Date.now() > until) throw new Error(`the database did not answer the checks: ${String(failure)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
