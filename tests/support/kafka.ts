import { type Consumer, Kafka, type KafkaMessage, Partitioners, type Producer, logLevel } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { startMockCluster as startMockClusterProcess } from '../../scripts/kafka-mock-cluster.ts';
import { eventually } from './poll.ts';

export interface MockCluster {
  bootstrap: string;
  kafka: Kafka;
  stop(): Promise<void>;
}

/** librdkafka's mock cluster in a child process of its own, with a client for the test's side. */
export async function startMockCluster(): Promise<MockCluster> {
  const cluster = await startMockClusterProcess();
  const kafka = new Kafka({ clientId: 'test', brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING });
  return { bootstrap: cluster.bootstrap, kafka, stop: () => cluster.stop() };
}

/** The mock cluster for the enclosing describe block (or file). */
export function mockClusterForSuite(): MockCluster {
  let started: MockCluster | undefined;
  beforeAll(async () => {
    started = await startMockCluster();
  }, 30_000);
  afterAll(() => started?.stop());
  const current = () => {
    if (!started) throw new Error('the mock cluster is used before beforeAll started it');
    return started;
  };
  return {
    get bootstrap() {
      return current().bootstrap;
    },
    get kafka() {
      return current().kafka;
    },
    stop: () => current().stop(),
  };
}

/** A producer as the real HuleEdu producers send: the envelope JSON as the value, the batch id as the key. */
export async function realProducer(
  kafka: Kafka,
): Promise<Producer & { publish(envelope: any, key?: string): Promise<{ partition: number; offset: number }> }> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  await producer.connect();
  return Object.assign(producer, {
    async publish(envelope: any, key?: string) {
      const [sent] = await producer.send({
        topic: envelope.event_type,
        acks: -1,
        messages: [{ key: key ?? envelope.data.batch_id, value: JSON.stringify(envelope) }],
      });
      return { partition: sent!.partition, offset: Number(sent!.baseOffset) };
    },
  });
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Reads topics from the beginning into `messages`, in a group of its own, until stopped. */
export async function topicReader(kafka: Kafka, topics: string[]): Promise<{ messages: ReadMessage[]; stop(): Promise<void> }> {
  const consumer: Consumer = kafka.consumer({
    groupId: `reader-${crypto.randomUUID()}`,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      messages.push(readOf(topic, partition, message));
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

function readOf(topic: string, partition: number, m: KafkaMessage): ReadMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
  return { topic, partition, offset: m.offset, key: m.key?.toString() ?? null, value: m.value?.toString() ?? null, headers };
}

/** The committed offset of a group per partition of a topic (-1: none). */
export async function committedOffsets(kafka: Kafka, groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(entry!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}
