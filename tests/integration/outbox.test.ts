import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { essays, postEvent, provisioned, registerBatch, createClassWithStudents } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { regularFlow } from '../support/scenarios.ts';

describe('GET /v1/outbox', () => {
  const h = harnessForSuite({ label: 'outbox' });
  let direct: postgres.Sql;
  beforeAll(async () => {
    // A second connection to the same database, to hold a transaction open.
    direct = postgres(h.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await direct?.end();
  });

  it('never skips a row that commits after a row with a higher seq', async () => {
    const teacher = await h.teacher('teacher-a');
    const klass = await createClassWithStudents(h, teacher, 'ENG5', 1);
    const start = (await h.api('GET', '/v1/outbox?limit=1000')).body.next_after as number;

    // T1 takes the lower seq and stays open; a later transition commits a higher seq first.
    const lateEventId = randomUUID();
    let commit!: () => void;
    const released = new Promise<void>((resolve) => (commit = resolve));
    const t1 = direct.begin(async (tx) => {
      const message = { event_id: lateEventId, topic: 'test.late.v1', correlation_id: randomUUID(), envelope: { late: true } };
      await tx`INSERT INTO outbox (batch_id, messages) VALUES (${randomUUID()}, ${JSON.stringify([message])}::text::jsonb)`;
      await released;
    });
    await new Promise((r) => setTimeout(r, 50));
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', class_id: klass.classId, expected_essay_count: 1 });
    expect((await postEvent(h, provisioned(batchId, essays(1)))).status).toBe(200);

    const first = await h.api('GET', `/v1/outbox?after=${start}&limit=1000`);
    // BatchEssaysRegistered at registration, then the student-matching command.
    expect(first.body.events.map((e: any) => e.batch_id)).toEqual([batchId, batchId]);
    const cursor = first.body.next_after as number;

    commit();
    await t1;
    const second = await h.api('GET', `/v1/outbox?after=${cursor}&limit=1000`);
    expect(second.body.events.map((e: any) => e.event_id)).toEqual([lateEventId]);
    expect(second.body.events[0].seq).toBeGreaterThan(cursor);

    const all = await h.api('GET', `/v1/outbox?after=${start}&limit=1000`);
    expect(all.body.events.map((e: any) => e.seq)).toEqual([cursor - 1, cursor, cursor + 1]);
  });
  it('numbers the messages of a many-message row one by one: any page size reads the same feed', async () => {
    const start = (await h.api('GET', '/v1/outbox?limit=1000')).body.next_after as number;
    await regularFlow(h);
    const whole = (await h.api('GET', `/v1/outbox?after=${start}&limit=1000`)).body.events as any[];
    // The flow's teacher sitting writes one row holding several messages.
    const [widest] = await direct<
      { n: number }[]
    >`SELECT max(jsonb_array_length(messages))::int AS n FROM outbox WHERE position > ${start}`;
    expect(widest!.n).toBeGreaterThanOrEqual(3);
    expect(whole.map((e) => e.seq)).toEqual(whole.map((_, i) => start + 1 + i));
    expect(new Set(whole.map((e) => e.event_id)).size).toBe(whole.length);

    for (const limit of [1, 2]) {
      const paged: any[] = [];
      let after = start;
      for (;;) {
        const page = (await h.api('GET', `/v1/outbox?after=${after}&limit=${limit}`)).body;
        paged.push(...page.events);
        if (page.events.length < limit) break;
        after = page.next_after;
      }
      expect(paged).toEqual(whole);
    }
  });

  it('migrates outbox rows written a message a row into one-message rows, keeping seq, position and publication', async () => {
    // The outbox as it was before migration 0012, in a schema of its own.
    const schema = `outbox_before_${randomUUID().replaceAll('-', '')}`;
    const old = postgres(h.url!, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
    try {
      await old.unsafe(`CREATE SCHEMA ${schema}`);
      await old.unsafe(`CREATE TABLE outbox (
        seq bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, event_id uuid NOT NULL CONSTRAINT outbox_event_id_unique UNIQUE,
        topic text NOT NULL, batch_id uuid, correlation_id uuid NOT NULL, envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz, position bigint CONSTRAINT outbox_position_unique UNIQUE)`);
      const written = [
        { event_id: randomUUID(), topic: 'a.v1', batch_id: randomUUID(), correlation_id: randomUUID(), position: 1, published: true },
        { event_id: randomUUID(), topic: 'b.v1', batch_id: null, correlation_id: randomUUID(), position: 2, published: false },
        { event_id: randomUUID(), topic: 'a.v1', batch_id: randomUUID(), correlation_id: randomUUID(), position: null, published: false },
      ];
      for (const w of written) {
        await old`INSERT INTO outbox (event_id, topic, batch_id, correlation_id, envelope, position, published_at)
          VALUES (${w.event_id}, ${w.topic}, ${w.batch_id}, ${w.correlation_id}, ${JSON.stringify({ event_id: w.event_id, n: [1] })}::text::jsonb,
            ${w.position}, ${w.published ? '2026-01-02T03:04:05Z' : null})`;
      }
      const migration = readFileSync(new URL('../../drizzle/0012_outbox_transitions.sql', import.meta.url), 'utf8');
      for (const statement of migration.split('--> statement-breakpoint')) await old.unsafe(statement);

      const read = await old`SELECT seq::int AS seq, idx, event_id::text AS event_id, topic, batch_id::text AS batch_id,
          correlation_id::text AS correlation_id, envelope, position::int AS position, published_at IS NOT NULL AS published
        FROM outbox_messages ORDER BY seq, idx`;
      expect(read.map((r) => ({ ...r }))).toEqual(
        written.map((w, i) => ({
          seq: i + 1,
          idx: 1,
          event_id: w.event_id,
          topic: w.topic,
          batch_id: w.batch_id,
          correlation_id: w.correlation_id,
          envelope: { event_id: w.event_id, n: [1] },
          position: w.position,
          published: w.published,
        })),
      );
      // A row holds a non-empty array of messages, nothing else.
      await expect(old`INSERT INTO outbox (messages) VALUES ('[]'::jsonb)`).rejects.toThrow(/outbox_messages_array/);
      await expect(old`INSERT INTO outbox (messages) VALUES ('{"a": 1}'::jsonb)`).rejects.toThrow(/outbox_messages_array/);
    } finally {
      await old.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await old.end();
    }
  });
});
