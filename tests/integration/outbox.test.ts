import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { essays, postEvent, provisioned, registerBatch, createClassWithStudents } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';

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
});
