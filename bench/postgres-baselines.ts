import type postgres from 'postgres';
import type { Operation } from './load.ts';

/**
 * The database's own limits, through postgres.js as the project uses it: P2 is one conditional
 * UPDATE plus an audit INSERT in one statement; P3 is the classic snapshot-row transaction.
 */

const ROWS_PER_CLIENT = 1000;
const STATES = ['awaiting_teacher', 'completed'] as const;

export async function createBaselineTables(sql: postgres.Sql, clients: number): Promise<void> {
  const count = clients * ROWS_PER_CLIENT;
  await sql`CREATE TABLE bench_p2 (id int PRIMARY KEY, state text NOT NULL)`;
  await sql`CREATE TABLE bench_p2_audit (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id int NOT NULL,
    from_state text NOT NULL, to_state text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;
  await sql`INSERT INTO bench_p2 SELECT g, ${STATES[0]} FROM generate_series(1, ${count}) g`;
  await sql`CREATE TABLE bench_p3 (id int PRIMARY KEY, version int NOT NULL, snapshot jsonb NOT NULL)`;
  await sql`CREATE TABLE bench_p3_history (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id int NOT NULL,
    version int NOT NULL, event text NOT NULL, at timestamptz NOT NULL DEFAULT now())`;
  await sql`INSERT INTO bench_p3 SELECT g, 1, ${sql.json(snapshotOfAboutOneKb(0) as postgres.JSONValue)}
    FROM generate_series(1, ${count}) g`;
}

/** A snapshot shaped like a small persisted actor: a state value and a context of ~1 KB. */
export function snapshotOfAboutOneKb(counter: number) {
  return {
    status: 'active',
    value: { awaiting_student_validation: 'awaiting_teacher' },
    context: {
      counter,
      batch_id: '00000000-0000-4000-8000-000000000000',
      owner_id: 'teacher-a',
      course_code: 'ENG5',
      essays: Array.from({ length: 6 }, (_, i) => ({
        essay_id: `0000000${i}-0000-4000-8000-00000000000${i}`,
        text_storage_id: `storage-${i}`,
        validation_status: 'pending_validation',
        confidence_score: 0.5 + i / 20,
      })),
    },
    historyValue: {},
  };
}

/**
 * Rows are split among the clients so no two clients touch one row: the baselines measure the
 * write path, not lock waits. Each client walks its rows round-robin and flips their state.
 */
function rowPicker(clients: number) {
  const cursor = new Array<number>(clients).fill(0);
  const state = new Uint8Array(clients * ROWS_PER_CLIENT + 1);
  return (client: number) => {
    const k = cursor[client]!;
    cursor[client] = k + 1;
    const id = client * ROWS_PER_CLIENT + (k % ROWS_PER_CLIENT) + 1;
    const from = state[id]!;
    state[id] = 1 - from;
    return { id, from: STATES[from]!, to: STATES[1 - from]! };
  };
}

export function p2Statement(sql: postgres.Sql) {
  return async (id: number, from: string, to: string): Promise<boolean> => {
    const written = await sql`WITH moved AS (
        UPDATE bench_p2 SET state = ${to} WHERE id = ${id} AND state = ${from} RETURNING id)
      INSERT INTO bench_p2_audit (item_id, from_state, to_state) SELECT id, ${from}, ${to} FROM moved RETURNING seq`;
    return written.length === 1;
  };
}

/** The state picker is shared by P2 and H: both flip the same rows, never at the same time. */
export function p2Operation(sql: postgres.Sql, pick: ReturnType<typeof rowPicker>): Operation {
  const run = p2Statement(sql);
  return async (client) => {
    const { id, from, to } = pick(client);
    if (!(await run(id, from, to))) throw new Error(`P2: row ${id} was not in state ${from}`);
  };
}

export function p3Operation(sql: postgres.Sql, clients: number): Operation {
  const cursor = new Array<number>(clients).fill(0);
  return async (client) => {
    const k = cursor[client]!;
    cursor[client] = k + 1;
    const id = client * ROWS_PER_CLIENT + (k % ROWS_PER_CLIENT) + 1;
    await sql.begin(async (tx) => {
      const [row] = await tx<Array<{ version: number; snapshot: { context: { counter: number } } }>>`
        SELECT version, snapshot FROM bench_p3 WHERE id = ${id} FOR UPDATE`;
      if (!row) throw new Error(`P3: row ${id} missing`);
      const next = snapshotOfAboutOneKb(row.snapshot.context.counter + 1);
      await tx`UPDATE bench_p3 SET snapshot = ${tx.json(next as postgres.JSONValue)}, version = ${row.version + 1} WHERE id = ${id}`;
      await tx`INSERT INTO bench_p3_history (item_id, version, event) VALUES (${id}, ${row.version + 1}, 'TEACHER_DECISIONS')`;
    });
  };
}

export { rowPicker };
