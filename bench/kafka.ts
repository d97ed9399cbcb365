import { Partitioners, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import type { Service } from '../app/service.ts';
import { createKafkaClient } from '../jobs/kafka-client.ts';
import { startKafkaTransport } from '../jobs/kafka.ts';
import { type MockClusterProcess, startMockCluster } from '../scripts/kafka-mock-cluster.ts';
import type { MixTransport } from './mix.ts';

export interface KafkaRig {
  /** Service events through Kafka (produced, then awaited until the consumer applied them); decisions as `decide` gives. */
  transport(decide: MixTransport['decide']): MixTransport;
  close(): Promise<void>;
}

/** librdkafka's mock cluster for the point `point`, or null (logged) when it cannot start, so the point is skipped. */
export async function mockClusterOrSkip(point: string, log: (message: string) => void): Promise<MockClusterProcess | null> {
  try {
    return await startMockCluster();
  } catch (error) {
    log(`${point}: skipped, the Kafka mock cluster did not start (${error instanceof Error ? error.message : String(error)})`);
    return null;
  }
}

/**
 * K: the service's Kafka consumer over librdkafka's mock cluster, fed by `producers` producers as
 * the real services publish (envelope JSON, key = batch id, acks=-1). One operation is one event
 * from send to applied: the consumer's hook after the transaction answers the waiting producer.
 * Null (the point is skipped) when the mock cluster cannot start.
 */
export async function startKafkaRig(service: Service, producers: number, log: (message: string) => void): Promise<KafkaRig | null> {
  const cluster = await mockClusterOrSkip('K', log);
  if (!cluster) return null;
  const waiting = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const transport = await startKafkaTransport(service, {
    brokers: [cluster.bootstrap],
    clientId: 'bench-consumer',
    groupId: 'bench-phase1',
    deadLetterTopic: 'bench.dead-letter.v1',
    sessionTimeoutMs: 10_000,
    consume: true,
    registry: new Registry(),
    log: (level, message) => (level === 'error' ? log(`K: ${message}`) : undefined),
    consumer: {
      beforeCommit(message) {
        const waiter = message.event_id === null ? undefined : waiting.get(message.event_id);
        if (!waiter) return;
        waiting.delete(message.event_id!);
        if (message.outcome === 'applied') waiter.resolve();
        else waiter.reject(new Error(`K: ${message.topic} ${message.outcome}: ${message.reason ?? ''}`));
      },
    },
  });
  const kafka = createKafkaClient({ brokers: [cluster.bootstrap], clientId: 'bench-producer' });
  const pool: Producer[] = [];
  for (let i = 0; i < producers; i++) {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    await producer.connect();
    pool.push(producer);
  }
  let next = 0;
  return {
    transport: (decide) => ({
      async inbound(envelope) {
        const eventId = envelope.event_id as string;
        const applied = new Promise<void>((resolve, reject) => waiting.set(eventId, { resolve, reject }));
        const producer = pool[next++ % pool.length]!;
        const data = envelope.data as { batch_id: string };
        await producer.send({
          topic: envelope.event_type as string,
          acks: -1,
          messages: [{ key: data.batch_id, value: JSON.stringify(envelope) }],
        });
        await applied;
      },
      decide,
    }),
    async close() {
      await Promise.all(pool.map((p) => p.disconnect()));
      await transport.stop();
      await cluster.stop();
    },
  };
}
