import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationTimeout } from '../../app/commands.ts';
import { rows } from '../../db/client.ts';
import { TOPICS } from '../../machines/events.ts';
import { createClassWithStudents, essays, postEvent, provisioned, registerBatch } from '../support/flow.ts';
import type { Harness } from '../support/harness.ts';
import { type Observed, captureLogs, startObservedHarness } from '../support/observed.ts';
import { regularFlow } from '../support/scenarios.ts';

const requestLines = (o: Observed) => o.logs.lines().filter((l) => l.msg === 'request');

describe('structured logs', () => {
  let o: Observed;
  let h: Harness;

  beforeAll(async () => {
    o = await startObservedHarness({ label: 'logging' });
    h = o.h;
  });
  afterAll(() => h?.close());

  it('writes one JSON line per request with method, route, status, duration and correlation id', async () => {
    const given = randomUUID();
    const teacher = await h.teacher('teacher-log');
    const before = requestLines(o).length;
    const res = await h.api('GET', '/v1/batches', { token: teacher, headers: { 'x-correlation-id': given } });
    expect(res.headers.get('x-correlation-id')).toBe(given);
    const anonymous = await h.api('GET', '/healthz', { token: null });
    const lines = requestLines(o).slice(before);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', method: 'GET', route: '/v1/batches', status: 200, correlation_id: given });
    expect(typeof lines[0]!.duration_ms).toBe('number');
    expect(typeof lines[0]!.time).toBe('string');
    // Without the header a correlation id is generated, logged and returned.
    expect(lines[1]!.correlation_id).toBe(anonymous.headers.get('x-correlation-id'));
    expect(lines[1]!.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs an applied event's batch, type, states and duration, under the envelope's correlation id", async () => {
    const teacher = await h.teacher('teacher-event');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    const event = provisioned(batchId, essays(1));
    const before = requestLines(o).length;
    expect((await postEvent(h, event)).status).toBe(200);
    const [line] = requestLines(o).slice(before);
    expect(line).toMatchObject({
      route: '/v1/events',
      status: 200,
      correlation_id: event.correlation_id,
      batch_id: batchId,
      event_type: TOPICS.contentProvisioned,
      from_state: 'awaiting_content_validation',
      to_state: 'ready_for_pipeline_execution',
      outcome: 'applied',
    });
    expect(typeof line!.apply_duration_ms).toBe('number');
  });

  it('logs an event applied outside a request on a line of its own, naming the scheduler', async () => {
    const teacher = await h.teacher('teacher-timeout');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG5', expected_essay_count: 1 });
    const before = o.logs.lines().length;
    await h.service.apply(validationTimeout(batchId, 1, 'sweep'));
    const [line] = o.logs.lines().slice(before);
    expect(line).toMatchObject({
      msg: 'event refused',
      batch_id: batchId,
      event_type: 'VALIDATION_TIMEOUT',
      outcome: 'refused',
      fired_by: 'sweep',
    });
    expect(line!.from_state).toBe('awaiting_content_validation');
  });

  it('never writes a token or a student e-mail, through a whole flow', async () => {
    const teacher = await h.teacher('teacher-a');
    await regularFlow(h);
    // A duplicate e-mail is a conflict whose database error quotes the address.
    const klass = await createClassWithStudents(h, teacher, 'ENG5', 1);
    const again = await h.api('POST', `/v1/classes/${klass.classId}/students`, {
      token: teacher,
      body: { students: [{ first_name: 'A', last_name: 'B', email: klass.students[0]!.email }] },
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    const emails = await rows<{ email: string }>(h.database.db, sql`SELECT email FROM students WHERE email IS NOT NULL`);
    expect(emails.length).toBeGreaterThan(0);
    const text = o.logs.raw.join('');
    expect(requestLines(o).length).toBeGreaterThan(10);
    expect(text).not.toContain(h.serviceToken);
    expect(text).not.toContain(teacher);
    expect(text).not.toContain(teacher.split('.')[2]!);
    for (const { email } of emails) expect(text).not.toContain(email);
    expect(text).not.toMatch(/@school\.example/);
  });
});

describe('the logger', () => {
  it('redacts authorization headers and e-mail fields at any usual depth, and e-mails inside messages', () => {
    const logs = captureLogs();
    logs.logger.info(
      {
        authorization: 'Bearer secret-token-1',
        headers: { authorization: 'Bearer secret-token-2' },
        req: { headers: { authorization: 'Bearer secret-token-3' } },
        email: 'ada@school.example',
        student: { email: 'bob@school.example', first_name: 'Bob' },
        students: [{ email: 'cy@school.example' }],
        err: 'duplicate key: dee@school.example already exists',
      },
      'something happened',
    );
    const [line] = logs.raw;
    expect(line).not.toMatch(/secret-token|@school\.example/);
    const parsed = JSON.parse(line!);
    expect(parsed).toMatchObject({ authorization: '[redacted]', email: '[redacted]', student: { email: '[redacted]', first_name: 'Bob' } });
    expect(parsed.err).toBe('duplicate key: [email] already exists');
  });

  it('honours the level: below it nothing is written', () => {
    const logs = captureLogs('warn');
    logs.logger.info({ a: 1 }, 'quiet');
    logs.logger.warn({ a: 2 }, 'loud');
    expect(logs.lines().map((l) => l.msg)).toEqual(['loud']);
    expect(logs.lines()[0]!.level).toBe('warn');
  });
});
