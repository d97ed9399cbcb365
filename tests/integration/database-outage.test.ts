import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { type PostgresCluster, createPostgresCluster } from '../../scripts/chaos/postgres-cluster.ts';
import { type ClassFixture, createClassWithStudents, essays, provisioned, registerBatch } from '../support/flow.ts';
import { type ApiResponse, type Harness, startHarness } from '../support/harness.ts';
import { eventually } from '../support/poll.ts';

/**
 * Issue 20, the short version of `npm run chaos`'s database faults: a PostgreSQL cluster of this
 * file's own (never the shared one) is restarted, has every connection terminated, and is stopped
 * under a steady load of events. Every request is answered, either applied or 503 with
 * Retry-After (never 500); the service is ready again after; nothing acknowledged is lost and
 * nothing is applied twice.
 */

const CLIENTS = 4;
const BATCHES_PER_FAULT = 40;
/** A client retries a 503 with the same event_id, as Retry-After tells it; bounded. */
const MAX_TRIES = 200;

describe('the database going away under load', () => {
  let cluster: PostgresCluster;
  let h: Harness;
  let teacher: string;
  let klass: ClassFixture;
  const acknowledged = new Map<string, string>(); // event_id -> batch_id
  const unavailable: ApiResponse[] = [];
  const failures: ApiResponse[] = [];

  beforeAll(async () => {
    cluster = await createPostgresCluster();
    h = await startHarness({ label: 'db_outage', databaseUrl: cluster.url });
    teacher = await h.teacher('teacher-a');
    klass = await createClassWithStudents(h, teacher, 'ENG5', 2);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await cluster?.remove();
  });

  /** Registers batches up front (registration has no key to retry with), then sends each its first event. */
  async function steadyLoad(): Promise<{ stop(): Promise<void> }> {
    const batches: string[] = [];
    for (let i = 0; i < BATCHES_PER_FAULT; i++) {
      batches.push(await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 }));
    }
    let stopping = false;
    const client = async () => {
      while (!stopping || batches.length > 0) {
        const batchId = batches.pop();
        if (batchId === undefined) return;
        const event = provisioned(batchId, essays(1));
        for (let tries = 0; tries < MAX_TRIES; tries++) {
          const answer = await h.api('POST', '/v1/events', { body: event });
          if (answer.status === 200) {
            acknowledged.set(event.event_id as string, batchId);
            break;
          }
          if (answer.status !== 503) {
            failures.push(answer);
            break;
          }
          unavailable.push(answer);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    return {
      async stop() {
        stopping = true;
        await Promise.all(clients);
      },
    };
  }

  const ready = async () => (await h.api('GET', '/readyz', { token: null })).status === 200;

  it('answers 503 with Retry-After while PostgreSQL is stopped, /readyz included, and recovers when it is back', async () => {
    const load = await steadyLoad();
    await cluster.stop();
    const during = await h.api('POST', '/v1/events', { body: provisioned(klass.classId, essays(1)) });
    expect(during.status).toBe(503);
    expect(during.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThan(0);
    const readiness = await h.api('GET', '/readyz', { token: null });
    expect(readiness.status).toBe(503);
    await cluster.start();
    await eventually(ready, 30_000, 100);
    await load.stop();
    expect(failures.map((f) => `${f.status} ${JSON.stringify(f.body)}`)).toEqual([]);
    expect(unavailable.every((u) => u.headers.get('retry-after') !== null)).toBe(true);
  }, 120_000);

  it('keeps answering through a fast restart and through pg_terminate_backend of every connection', async () => {
    for (const fault of [() => cluster.restart(), () => cluster.terminateBackends()]) {
      const load = await steadyLoad();
      await fault();
      await eventually(ready, 30_000, 100);
      await load.stop();
    }
    expect(failures.map((f) => `${f.status} ${JSON.stringify(f.body)}`)).toEqual([]);
  }, 120_000);

  it('lost nothing it acknowledged and applied nothing twice', async () => {
    expect(acknowledged.size).toBe(3 * BATCHES_PER_FAULT);
    const applied = await rows<{ event_id: string; batch_id: string; times: number }>(
      h.database.db,
      sql`SELECT event_id, batch_id::text, count(*)::int AS times FROM history
          WHERE event_id IN (SELECT jsonb_array_elements_text(${JSON.stringify([...acknowledged.keys()])}::jsonb)) AND outcome = 'applied' GROUP BY event_id, batch_id`,
    );
    expect(applied.filter((a) => a.times !== 1)).toEqual([]);
    expect(new Map(applied.map((a) => [a.event_id, a.batch_id]))).toEqual(acknowledged);
    // Each batch got exactly one event applied and published one matching command.
    const [outbox] = await rows<{ commands: number; batches: number }>(
      h.database.db,
      sql`SELECT count(*)::int AS commands, count(DISTINCT batch_id)::int AS batches FROM outbox_messages
          WHERE topic = ${TOPICS.studentMatchingCommand} AND batch_id::text IN (SELECT jsonb_array_elements_text(${JSON.stringify([...acknowledged.values()])}::jsonb))`,
    );
    expect(outbox).toEqual({ commands: acknowledged.size, batches: acknowledged.size });
  });
});
