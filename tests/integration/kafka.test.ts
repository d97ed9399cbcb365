import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelay } from '../../jobs/relay.ts';
import { type KafkaTransport, startKafkaTransport } from '../../jobs/kafka.ts';
import { relayOutbox } from '../../db/outbox.ts';
import { INBOUND_TOPICS, TOPICS } from '../../machines/events.ts';
import { createMetrics } from '../../ops/metrics.ts';
import { essays, essaysReady, pipelineRequest, provisioned, registerBatch, suggested, TEST_TRACEPARENT } from '../support/flow.ts';
import { uuid, classCreatedByClassService, studentCreatedByClassService, registeredClassBatch } from '../support/flow.ts';
import { harnessForSuite } from '../support/harness.ts';
import { type ReadMessage, committedOffsets, mockClusterForSuite, realProducer, topicReader } from '../support/kafka.ts';
import { eventually } from '../support/poll.ts';
import { wireProblems } from '../support/wire.ts';

/**
 * The service on a real Kafka protocol broker (librdkafka's mock cluster): inbound events as the
 * real producers publish them (envelope JSON, key = batch id), the outbox relayed back out, both
 * read and checked as the real consumers would.
 */
describe('Kafka in and out', { timeout: 120_000 }, () => {
  const cluster = mockClusterForSuite();
  const h = harnessForSuite({ label: 'kafka', validationTimeoutMs: 24 * 3_600_000 });
  const DEAD = 'test.dead-letter.v1';
  const GROUP = 'phase1-kafka-test';
  const OUTBOUND = [
    TOPICS.essaysRegistered,
    TOPICS.studentMatchingCommand,
    TOPICS.associationUpdated,
    TOPICS.associationsConfirmed,
    TOPICS.spellcheckCommand,
    TOPICS.timeoutProcessed,
  ];
  let transport: KafkaTransport;
  let relay: ReturnType<typeof createRelay>;
  let producer: Awaited<ReturnType<typeof realProducer>>;
  let out: Awaited<ReturnType<typeof topicReader>>;
  const metrics = createMetrics();
  const logged: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];

  beforeAll(async () => {
    producer = await realProducer(cluster.kafka);
    transport = await startKafkaTransport(h.service, {
      brokers: [cluster.bootstrap],
      clientId: 'phase1-test',
      groupId: GROUP,
      deadLetterTopic: DEAD,
      sessionTimeoutMs: 6000,
      consume: true,
      registry: metrics.registry,
      log: (_level, message, fields) => logged.push({ message, fields }),
    });
    relay = createRelay(relayOutbox(h.database.db), { sinks: [transport.sink], intervalMs: 50 });
    relay.start();
    out = await topicReader(cluster.kafka, [...OUTBOUND, DEAD]);
  }, 60_000);
  afterAll(async () => {
    await relay?.stop();
    await out?.stop();
    await producer?.disconnect();
    await transport?.stop();
  });

  const teacherGet = async (token: string, path: string) => (await h.api('GET', path, { token })).body;
  const statusOf = (token: string, batchId: string) => teacherGet(token, `/v1/batches/${batchId}`).then((b) => b.status as string);
  const waitFor = (token: string, batchId: string, status: string) =>
    eventually(async () => (await statusOf(token, batchId)) === status, 60_000, 50);
  const outbound = (batchId: string, topic: string) => out.messages.filter((m) => m.topic === topic && m.key === batchId);
  const envelopeOf = (m: ReadMessage) => JSON.parse(m.value!);

  it('consumes every inbound topic the service knows', () => {
    expect(INBOUND_TOPICS.length).toBeGreaterThan(0);
    expect(transport.consumer).not.toBeNull();
  });

  it('a REGULAR batch, its service events only over Kafka, and what it emits read back from Kafka', async () => {
    const teacher = await h.teacher('teacher-a');
    const { klass, batchId } = await registeredClassBatch(h, teacher, { courseCode: 'SV2', students: 2, count: 2 });
    const list = essays(2);
    await producer.publish(provisioned(batchId, list, 'SV2'));
    await waitFor(teacher, batchId, 'awaiting_student_validation');
    const [command] = await eventually(
      async () => outbound(batchId, TOPICS.studentMatchingCommand).length === 1 && outbound(batchId, TOPICS.studentMatchingCommand),
      30_000,
    );
    expect(envelopeOf(command!).data).toMatchObject({ entity_id: batchId, class_id: klass.classId, essays_to_process: list });

    const [s0, s1] = klass.students;
    await producer.publish(
      suggested(
        batchId,
        klass.classId,
        [
          { essay: list[0]!, student_id: s0!.student_id, score: 0.95 },
          { essay: list[1]!, student_id: s1!.student_id, score: 0.8 },
        ],
        'SV2',
      ),
    );
    await producer.publish(essaysReady(batchId, list, 'REGULAR', 'SV2'));
    // Two topics, no order between them: the teacher reviews once both are applied.
    await eventually(
      async () => {
        const history = (await teacherGet(teacher, `/v1/batches/${batchId}/history`)).history as any[];
        const applied = new Set(history.filter((r) => r.outcome === 'applied').map((r) => r.event_type));
        return applied.has(TOPICS.authorMatchesSuggested) && applied.has(TOPICS.essaysReady);
      },
      60_000,
      50,
    );
    const associations = (await teacherGet(teacher, `/v1/batches/${batchId}/student-associations`)).associations as any[];
    expect(associations.map((a) => a.validation_status)).toEqual(['pending_validation', 'pending_validation']);
    const confirm = await h.api('POST', `/v1/batches/${batchId}/student-associations/confirm`, {
      token: teacher,
      body: { associations: list.map((e) => ({ essay_id: e.essay_id, confirmed: true })) },
    });
    expect(confirm.body.status).toBe('ready_for_pipeline_execution');
    await producer.publish(pipelineRequest(batchId, 'nlp'));
    await eventually(async () => outbound(batchId, TOPICS.spellcheckCommand).length === 1, 60_000, 50);

    const emitted = out.messages.filter((m) => m.key === batchId);
    expect(new Set(emitted.map((m) => m.topic))).toEqual(
      new Set([
        TOPICS.essaysRegistered,
        TOPICS.studentMatchingCommand,
        TOPICS.associationUpdated,
        TOPICS.associationsConfirmed,
        TOPICS.spellcheckCommand,
      ]),
    );
    for (const m of emitted) {
      const envelope = envelopeOf(m);
      expect(wireProblems(envelope, 'outbound', batchId), m.topic).toEqual([]);
      expect(envelope.event_type).toBe(m.topic);
      expect(m.headers.event_id).toBe(envelope.event_id);
      expect(m.headers.traceparent).toBe(envelope.metadata.traceparent);
    }
    // The producer's trace continues into the events the pipeline request caused.
    expect(envelopeOf(outbound(batchId, TOPICS.spellcheckCommand)[0]!).metadata.traceparent).toContain(TEST_TRACEPARENT.split('-')[1]);
    // A batch's events share a partition per topic: the key is the batch id.
    expect(new Set(emitted.filter((m) => m.topic === TOPICS.associationUpdated).map((m) => m.partition)).size).toBe(1);
  });

  /** A GUEST ENG6 batch of `count` essays of a new teacher's, provisioned over Kafka and shown ready. */
  async function guestReadyOverKafka(teacherId: string, count: number) {
    const teacher = await h.teacher(teacherId);
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG6', expected_essay_count: count });
    const list = essays(count);
    await producer.publish(provisioned(batchId, list, 'ENG6'));
    await waitFor(teacher, batchId, 'ready_for_pipeline_execution');
    return { teacher, batchId, list };
  }

  it('a GUEST batch: provisioning and the pipeline request over Kafka start the pipeline', async () => {
    // Topics carry no order between them: the client asks once the batch shows ready, as a teacher would.
    const { teacher, batchId, list } = await guestReadyOverKafka('teacher-guest', 2);
    await producer.publish(pipelineRequest(batchId, 'cj_assessment'));
    const [spellcheck] = await eventually(
      async () => outbound(batchId, TOPICS.spellcheckCommand).length === 1 && outbound(batchId, TOPICS.spellcheckCommand),
      60_000,
      50,
    );
    const envelope = envelopeOf(spellcheck!);
    expect(wireProblems(envelope, 'outbound', batchId)).toEqual([]);
    expect(envelope.data).toMatchObject({ entity_id: batchId, essays_to_process: list, language: 'en' });
    expect(outbound(batchId, TOPICS.studentMatchingCommand)).toEqual([]);
    const history = (await teacherGet(teacher, `/v1/batches/${batchId}/history`)).history as any[];
    expect(history.filter((r) => r.outcome === 'applied').map((r) => r.event_type)).toEqual([
      'BATCH_REGISTERED',
      TOPICS.contentProvisioned,
      TOPICS.pipelineRequest,
    ]);
  });

  it('poison goes to the dead-letter topic with its reason, and its partition goes on', async () => {
    const teacher = await h.teacher('teacher-poison');
    const batchId = await registerBatch(h, teacher, { course_code: 'ENG6', expected_essay_count: 1 });
    const list = essays(1);
    const topic = TOPICS.contentProvisioned;
    // Same key: the poison and the good event after it share one partition.
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: batchId, value: '{"event_type": "huleedu.batch.content.provisioning.completed.v1", "data": ' }],
    });
    const wrong = provisioned(batchId, list, 'ENG6');
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: batchId, value: JSON.stringify({ ...wrong, data: { ...wrong.data, provisioned_count: -1 } }) }],
    });
    await producer.publish(provisioned(batchId, list, 'ENG6'));
    await waitFor(teacher, batchId, 'ready_for_pipeline_execution');

    const dead = await eventually(async () => {
      const letters = out.messages.filter((m) => m.topic === DEAD && m.key === batchId);
      return letters.length === 2 && letters;
    }, 30_000);
    expect(dead.map((m) => m.headers['x-dead-letter-reason'])).toEqual(['not JSON', 'invalid for its model']);
    expect(JSON.parse(dead[1]!.headers['x-dead-letter-errors']!)).toEqual([expect.stringContaining('data.provisioned_count')]);
    expect(dead.every((m) => m.headers['x-original-topic'] === topic)).toBe(true);
    expect(dead[0]!.value).toBe('{"event_type": "huleedu.batch.content.provisioning.completed.v1", "data": ');
    // All three offsets are committed: the partition moved past the poison.
    const partition = Number(dead[0]!.headers['x-original-partition']);
    const offset = Number(dead[0]!.headers['x-original-offset']);
    await eventually(async () => (await committedOffsets(cluster.kafka, GROUP, topic)).get(partition) === offset + 3, 30_000, 50);
    // Counted and logged after the commit, so awaited as well.
    const deadCount = `huleedu_kafka_messages_total{topic="${topic}",outcome="dead_lettered"} 2`;
    await eventually(
      async () => (await metrics.registry.getSingleMetricAsString('huleedu_kafka_messages_total')).includes(deadCount),
      30_000,
      50,
    );
    await eventually(
      async () =>
        logged.some(
          (l) => l.message === 'kafka message dead_lettered' && l.fields?.offset === String(offset) && l.fields?.partition === partition,
        ),
      30_000,
      50,
    );
  });

  it("the real class service's events over Kafka: a student whose class comes later waits for it, then both are known", async () => {
    const cmsTeacher = 'teacher-cms-kafka';
    const token = await h.teacher(cmsTeacher);
    const [classId, studentId] = [uuid(), uuid()];
    const studentCreated = studentCreatedByClassService(studentId, [classId], cmsTeacher);
    const classCreated = classCreatedByClassService(classId, 'CMS 9B', ['SV1'], cmsTeacher);
    for (const e of [studentCreated, classCreated]) expect(wireProblems(e, 'inbound')).toEqual([]);
    // Keyed by entity as the real producer keys them; the student arrives first, on its own topic.
    await producer.publish(studentCreated, studentId);
    await eventually(
      async () => logged.some((l) => l.message === 'kafka message retried' && l.fields?.event_id === studentCreated.event_id),
      30_000,
      50,
    );
    await producer.publish(classCreated, classId);
    await eventually(
      async () => {
        const roster = await h.api('GET', `/v1/classes/${classId}/students`, { token });
        return (
          roster.status === 200 &&
          (roster.body.students as Array<{ id?: string; student_id?: string }>).some((st) => (st.id ?? st.student_id) === studentId)
        );
      },
      30_000,
      50,
    );
  });

  it('a redelivered event for a batch that moved on is refused, committed and counted', async () => {
    const { teacher, batchId, list } = await guestReadyOverKafka('teacher-refused', 1);
    // Another provisioning (a new event id) for a batch already past provisioning.
    await producer.publish(provisioned(batchId, list, 'ENG6'));
    await eventually(
      async () => {
        const history = (await teacherGet(teacher, `/v1/batches/${batchId}/history`)).history as any[];
        return history.some((r) => r.outcome === 'refused' && r.event_type === TOPICS.contentProvisioned);
      },
      30_000,
      50,
    );
    // The history row commits before the consumer counts the outcome (the count follows the
    // transaction), so the counter is awaited too rather than read once.
    const refusedCount = new RegExp(
      `huleedu_kafka_messages_total\\{topic="${TOPICS.contentProvisioned.replace(/\./g, '\\.')}",outcome="refused"\\} [1-9]`,
    );
    await eventually(
      async () => refusedCount.test(await metrics.registry.getSingleMetricAsString('huleedu_kafka_messages_total')),
      30_000,
      50,
    );
  });
});
