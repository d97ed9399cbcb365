import { spawn } from 'node:child_process';
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { relayOutbox } from '../../db/outbox.ts';
import { startKafkaTransport } from '../../jobs/kafka.ts';
import { createRelay } from '../../jobs/relay.ts';
import { TOPICS } from '../../machines/events.ts';
import { createMetrics } from '../../ops/metrics.ts';
import { essays, provisioned, registerBatch } from '../support/flow.ts';
import { DATABASE_URL } from '../support/env.ts';
import { type Harness, harnessForSuite } from '../support/harness.ts';
import { committedOffsets, mockClusterForSuite, realProducer, topicReader } from '../support/kafka.ts';
import { eventually } from '../support/poll.ts';
import { ROOT } from '../support/process.ts';

/** What failures do to consumed and published events: nothing lost, nothing applied twice. */
describe('Kafka under failures', () => {
  const cluster = mockClusterForSuite();
  const h = harnessForSuite({ label: 'kafka_failures', validationTimeoutMs: 24 * 3_600_000 });
  const DEAD = 'test.failures.dead-letter.v1';

  const transport = (groupId: string, metrics = createMetrics(), log = (_l: string, _m: string, _f?: Record<string, unknown>) => {}) =>
    startKafkaTransport(h.service, {
      brokers: [cluster.bootstrap],
      clientId: 'phase1-failures',
      groupId,
      deadLetterTopic: DEAD,
      sessionTimeoutMs: 6000,
      consume: true,
      registry: metrics.registry,
      log,
      consumer: { backoff: { initialMs: 100, maxMs: 1000 } },
    });

  const historyOf = async (teacher: string, batchId: string) =>
    (await h.api('GET', `/v1/batches/${batchId}/history`, { token: teacher })).body.history as any[];
  const appliedOf = async (teacher: string, batchId: string, eventType: string) =>
    (await historyOf(teacher, batchId)).filter((r) => r.outcome === 'applied' && r.event_type === eventType).length;
  const counter = async (metrics: ReturnType<typeof createMetrics>, outcome: string) => {
    const metric = await metrics.registry.getSingleMetric('huleedu_kafka_messages_total')!.get();
    return metric.values.filter((v) => v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);
  };

  /** A GUEST batch registered over HTTP, and its provisioning as the file service publishes it. */
  async function guestBatch(h: Harness, teacherId: string) {
    const teacher = await h.teacher(teacherId);
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG6', expected_essay_count: 1 });
    return { teacher, batchId, event: provisioned(batchId, essays(1), 'ENG6') };
  }

  it('a consumer that dies after the transaction and before the commit: the event comes again, as a duplicate', async () => {
    const group = 'phase1-redelivery';
    const { teacher, batchId, event } = await guestBatch(h, 'teacher-redelivery');
    const producer = await realProducer(cluster.kafka);
    await producer.publish(event);
    await producer.disconnect();

    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/kafka-consumer-child.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: h.url, KAFKA_BROKERS: cluster.bootstrap, KAFKA_GROUP_ID: group, KAFKA_DEAD_LETTER_TOPIC: DEAD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += String(d)));
    child.stderr!.on('data', (d) => (output += String(d)));
    const signal = await new Promise((resolve) => child.once('exit', (_code, s) => resolve(s)));
    expect(signal, output).toBe('SIGKILL');
    expect(output).toContain(`dying after ${event.event_id}`);
    // The transaction committed; the offset did not.
    expect(await appliedOf(teacher, batchId, TOPICS.contentProvisioned)).toBe(1);
    expect([...(await committedOffsets(cluster.kafka, group, TOPICS.contentProvisioned)).values()].every((o) => o === -1)).toBe(true);

    const metrics = createMetrics();
    const seen: Array<Record<string, unknown>> = [];
    const next = await transport(group, metrics, (_l, message, fields) =>
      message.startsWith('kafka message') ? seen.push(fields!) : undefined,
    );
    try {
      await eventually(async () => seen.some((m) => m.event_id === event.event_id && m.outcome === 'duplicate'), 60_000, 50);
      await eventually(
        async () => [...(await committedOffsets(cluster.kafka, group, TOPICS.contentProvisioned)).values()].some((o) => o > 0),
        30_000,
        50,
      );
    } finally {
      await next.stop();
    }
    expect(await counter(metrics, 'applied')).toBe(0);
    expect(await appliedOf(teacher, batchId, TOPICS.contentProvisioned)).toBe(1);
  }, 120_000);

  it('the database goes away during consumption: nothing is committed, the partition resumes after, the event applies once', async () => {
    const group = 'phase1-db-outage';
    const { teacher, batchId, event } = await guestBatch(h, 'teacher-outage');
    const name = new URL(h.url!).pathname.slice(1);
    const admin = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    const metrics = createMetrics();
    const consumer = await transport(group, metrics);
    const producer = await realProducer(cluster.kafka);
    let sent = { partition: -1, offset: -1 };
    try {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`);
      sent = await producer.publish(event);
      await eventually(async () => (await counter(metrics, 'retried')) >= 3, 60_000, 50);
      // Not past the event: -1 (nothing), or at most its own offset (what came before it on the partition).
      expect((await committedOffsets(cluster.kafka, group, TOPICS.contentProvisioned)).get(sent.partition)).toBeLessThanOrEqual(
        sent.offset,
      );
      expect(await counter(metrics, 'applied')).toBe(0);
    } finally {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    try {
      await eventually(async () => (await counter(metrics, 'applied')) === 1, 60_000, 50);
      await eventually(
        async () => (await committedOffsets(cluster.kafka, group, TOPICS.contentProvisioned)).get(sent.partition) === sent.offset + 1,
        30_000,
        50,
      );
    } finally {
      await producer.disconnect();
      await consumer.stop();
    }
    expect(await appliedOf(teacher, batchId, TOPICS.contentProvisioned)).toBe(1);
    expect((await h.api('GET', `/v1/batches/${batchId}`, { token: teacher })).body.status).toBe('ready_for_pipeline_execution');
  }, 120_000);

  it('the relay dies between the broker acknowledgement and the marking: the same event_id goes out once more, no more', async () => {
    const { batchId } = await guestBatch(h, 'teacher-relay');
    const kafka = await startKafkaTransport(h.service, {
      brokers: [cluster.bootstrap],
      clientId: 'phase1-relay',
      groupId: 'unused',
      deadLetterTopic: DEAD,
      sessionTimeoutMs: 6000,
      consume: false,
      registry: createMetrics().registry,
      log: () => {},
    });
    const reader = await topicReader(cluster.kafka, [TOPICS.essaysRegistered]);
    try {
      const dying = createRelay(relayOutbox(h.database.db), {
        sinks: [kafka.sink],
        beforeMark: () => {
          throw new Error('relay killed after the broker acknowledged');
        },
      });
      await expect(dying.runOnce()).rejects.toThrow('relay killed');
      const relay = createRelay(relayOutbox(h.database.db), { sinks: [kafka.sink] });
      expect(await relay.runOnce()).toBeGreaterThan(0);
      expect(await relay.runOnce()).toBe(0);
      const registered = () => reader.messages.filter((m) => m.key === batchId);
      await eventually(async () => registered().length === 2, 30_000, 50);
      const ids = registered().map((m) => JSON.parse(m.value!).event_id);
      expect(ids[0]).toBe(ids[1]);
      expect(registered().map((m) => m.headers.event_id)).toEqual(ids);
    } finally {
      await reader.stop();
      await kafka.stop();
    }
  }, 120_000);
});
