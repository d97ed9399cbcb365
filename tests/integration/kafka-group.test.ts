import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService } from '../../app/service.ts';
import { type Database, openDatabase } from '../../db/client.ts';
import { INBOUND_TOPICS, TOPICS } from '../../machines/events.ts';
import { createTestDatabase } from '../support/db.ts';
import { essays, pipelineRequest, provisioned } from '../support/flow.ts';
import { mockClusterForSuite, realProducer } from '../support/kafka.ts';
import { eventually } from '../support/poll.ts';
import { type RunningService, startService } from '../support/process.ts';

/**
 * Two service processes (`npm start`'s main.ts) in one consumer group share the inbound
 * partitions; one is killed without a goodbye, the other takes its partitions over. Every event
 * is applied exactly once.
 */
describe('two service processes in one consumer group', { timeout: 300_000 }, () => {
  const cluster = mockClusterForSuite();
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database;
  const running: RunningService[] = [];
  const OWNER = 'teacher-group';
  const BATCHES = 16;

  beforeAll(async () => {
    testDb = await createTestDatabase('kafka_group');
    database = await openDatabase({ url: testDb.url, dataDir: 'memory://' });
  });
  afterAll(async () => {
    for (const svc of running) svc.child.kill('SIGKILL');
    await database?.close();
    await testDb?.drop();
  });

  const start = async () => {
    const svc = await startService({
      DATABASE_URL: testDb.url,
      REDIS_URL: undefined,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'kafka-group-')),
      KAFKA_BROKERS: cluster.bootstrap,
      KAFKA_GROUP_ID: 'phase1-two-processes',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      LOG_LEVEL: 'warn',
    });
    running.push(svc);
    return svc;
  };
  const appliedBy = async (svc: RunningService) => {
    const text = await (await fetch(`${svc.base}/metrics`, { headers: { authorization: `Bearer ${svc.serviceToken}` } })).text();
    return [...text.matchAll(/^huleedu_kafka_messages_total\{[^}]*outcome="applied"[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };
  const ready = async (svc: RunningService) => (await fetch(`${svc.base}/readyz`)).status === 200;
  const assigned = async (svc: RunningService) => {
    const text = await (await fetch(`${svc.base}/metrics`)).text();
    return Number(/^huleedu_kafka_assigned_partitions (\d+)/m.exec(text)?.[1] ?? 0);
  };

  it('shares the partitions, and after one is killed the other applies the rest, each event once', async () => {
    const service = createService({ db: database.db, validationTimeoutMs: 60_000 });
    const [a, b] = [await start(), await start()];
    await eventually(async () => (await ready(a)) && (await ready(b)), 120_000, 100);
    // Both in one generation of the group: every inbound partition (4 a topic here) held by one of them.
    await eventually(
      async () => {
        const [inA, inB] = [await assigned(a), await assigned(b)];
        return inA > 0 && inB > 0 && inA + inB === INBOUND_TOPICS.length * 4;
      },
      120_000,
      200,
    );

    const batchIds: string[] = [];
    for (let i = 0; i < BATCHES; i++) {
      const outcome = await service.registerBatch(OWNER, { course_code: 'ENG6', expected_essay_count: 1 }, crypto.randomUUID());
      if (outcome.kind !== 'registered') throw new Error(outcome.kind);
      batchIds.push(outcome.batch.batch_id);
    }
    const producer = await realProducer(cluster.kafka);
    const sent = batchIds.map((id) => provisioned(id, essays(1), 'ENG6'));
    for (const event of sent) await producer.publish(event);
    const statuses = async () => Promise.all(batchIds.map(async (id) => (await service.getBatch(OWNER, id))?.status));
    await eventually(async () => (await statuses()).every((s) => s === 'ready_for_pipeline_execution'), 90_000, 100);
    // Both took part: the partitions were shared. (A message is counted after its offset commit, a moment after its transaction.)
    const [byA, byB] = await eventually(
      async () => {
        const counts = [await appliedBy(a), await appliedBy(b)] as const;
        return counts[0] + counts[1] === BATCHES && counts;
      },
      30_000,
      100,
    );
    expect(byA).toBeGreaterThan(0);
    expect(byB).toBeGreaterThan(0);

    a.child.kill('SIGKILL');
    await a.exited;
    const requests = batchIds.map((id) => pipelineRequest(id, 'nlp'));
    for (const event of requests) await producer.publish(event);
    await producer.disconnect();
    const spellchecks = async () => (await service.outbox(0, 10_000)).events.filter((e) => e.topic === TOPICS.spellcheckCommand);
    await eventually(async () => (await spellchecks()).length === BATCHES, 120_000, 200);
    await eventually(async () => (await appliedBy(b)) === byB + BATCHES, 30_000, 100);

    for (const id of batchIds) {
      const history = (await service.history(OWNER, id))!;
      const count = (type: string) => history.filter((r) => r.outcome === 'applied' && r.event_type === type).length;
      expect([count(TOPICS.contentProvisioned), count(TOPICS.pipelineRequest)], id).toEqual([1, 1]);
    }
    expect(new Set((await spellchecks()).map((e) => e.batch_id))).toEqual(new Set(batchIds));
  });
});
