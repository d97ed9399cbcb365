import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type Consumer, Kafka, type KafkaMessage, Partitioners, type Producer, logLevel } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { eventually } from './poll.ts';

const SCRIPT = join(import.meta.dirname, 'kafka-mock-cluster.py');
const PYTHON = '/usr/bin/python3';

export interface MockCluster {
  bootstrap: string;
  kafka: Kafka;
  stop(): Promise<void>;
}

/** librdkafka's mock cluster in a child process of its own, for one test file; throws when it cannot start. */
export async function startMockCluster(): Promise<MockCluster> {
  const child: ChildProcess = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += String(d)));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`mock cluster exited (${code}): ${err}`)));
    child.stdout!.once('data', (d) => resolve(String(d).trim()));
  });
  const kafka = new Kafka({ clientId: 'test', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  return {
    bootstrap,
    kafka,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
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
export async function realProducer(kafka: Kafka): Promise<Producer & { publish(envelope: any, key?: string): Promise<{ partition: number; offset: number }> }> {
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
  const consumer: Consumer = kafka.consumer({ groupId: `reader-${crypto.randomUUID()}`, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
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
